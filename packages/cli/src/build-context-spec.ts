/**
 * `--build-context NAME=VALUE` (repeatable), read as buildx reads it (util/buildflags/context.go):
 * split at the first `=`, the name a reference (stored as its familiar form without `:latest`, so
 * `docker.io/library/busybox:latest` and `busybox` are one name), empty values skipped, a later flag
 * for the same name winning. The value is the engine's parseContextValue (a directory relative to
 * the working directory, docker-image://, oci-layout://, a git or http(s) URL; `target:` refused).
 */
import { BuildContextError, checkContextName, parseContextValue, type NamedContextSpec } from "@tsbuild/engine";
import { UsageError } from "./args.js";

export function parseBuildContexts(values: string[], cwd: string): Record<string, NamedContextSpec> {
  const out: Record<string, NamedContextSpec> = {};
  for (const value of values) {
    if (value === "") continue;
    const eq = value.indexOf("=");
    if (eq < 0) throw new UsageError(`--build-context: invalid context value: ${value}, expected key=value`);
    try {
      out[checkContextName(value.slice(0, eq))] = parseContextValue(value.slice(eq + 1), cwd);
    } catch (e) {
      if (e instanceof BuildContextError) throw new UsageError(`--build-context ${value.slice(0, eq)}: ${e.message}`);
      throw e;
    }
  }
  return out;
}
