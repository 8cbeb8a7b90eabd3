/**
 * The build args BuildKit and buildx read themselves (BuildKit's reference: "BuildKit built-in
 * build args"), and what tsbuild does with each. They are ordinary build args besides (an ARG of
 * the same name sees them), but are never reported as unused. None is dropped silently:
 *
 * - BUILDKIT_INLINE_CACHE=1: as `--cache-to type=inline` (buildx does that translation);
 * - BUILDKIT_MULTI_PLATFORM=1: the result is an image index with the one platform's manifest (a
 *   local or tar output gets the platform's directory), as BuildKit's multi-platform results;
 * - BUILDKIT_CONTEXT_KEEP_GIT_DIR: for Git contexts only in BuildKit; a local context always keeps
 *   its `.git` (subject to .dockerignore), so it changes nothing here;
 * - BUILDKIT_SYNTAX, BUILDKIT_DOCKERFILE_CHECK: syntax.ts and check-options.ts;
 * - BUILDKIT_BUILD_NAME: the name of the build in buildx's history; nothing in the image;
 * - BUILDKIT_CACHE_MOUNT_NS=NS: every RUN --mount=type=cache is BuildKit's cache `NS/ID` (ID the
 *   mount's id; with no namespace, `/ID`), with `from=` too and whatever its sharing: another
 *   namespace is another set of caches (engine's run-mounts.ts, runtime's cache-mounts.ts);
 * - BUILDKIT_SANDBOX_HOSTNAME=NAME: the hostname of every RUN (its UTS name and /etc/hosts; default
 *   buildkitsandbox), part of each RUN's cache key when given, as it is of BuildKit's ExecOp meta;
 * - BUILDKIT_DISABLE_FILEOP=true: refused, as BuildKit refuses it since 0.11.
 *
 * Any other BUILDKIT_* arg is an ordinary build arg to BuildKit, and so it is here.
 */
import { CHECK_BUILD_ARG } from "./check-options.js";
import { DockerfileError } from "./errors.js";
import { parseGoBool } from "./go-bool.js";
import { SYNTAX_BUILD_ARG } from "./syntax.js";

export interface BuilderArgs {
  /** BUILDKIT_INLINE_CACHE: export the cache inline in the image config */
  inlineCache: boolean;
  /** BUILDKIT_MULTI_PLATFORM: the result is an index even for one platform */
  multiPlatform: boolean;
  /** BUILDKIT_CONTEXT_KEEP_GIT_DIR: keep a Git context's .git (no effect on a local context) */
  keepGitDir: boolean;
  /** BUILDKIT_CACHE_MOUNT_NS: the namespace of every cache mount's id (absent when unset or empty) */
  cacheMountNamespace?: string;
  /** BUILDKIT_SANDBOX_HOSTNAME: the hostname RUN steps have (absent when unset or empty: buildkitsandbox) */
  sandboxHostname?: string;
}

/** Args the builder reads itself: never "not consumed". */
export const BUILDER_ARGS: ReadonlySet<string> = new Set([
  "BUILDKIT_INLINE_CACHE", "BUILDKIT_MULTI_PLATFORM", "BUILDKIT_CONTEXT_KEEP_GIT_DIR", SYNTAX_BUILD_ARG, CHECK_BUILD_ARG,
  "BUILDKIT_BUILD_NAME", "BUILDKIT_CACHE_MOUNT_NS", "BUILDKIT_SANDBOX_HOSTNAME", "BUILDKIT_DISABLE_FILEOP",
]);

function argError(file: string, name: string, value: string, detail: string, hint?: string): DockerfileError {
  return new DockerfileError("build-arg", `--build-arg ${name}=${value}: ${detail}`, file, undefined, hint);
}

/** A boolean arg: unset or empty is false; a value Go's strconv.ParseBool refuses is an error. */
function bool(args: ReadonlyMap<string, string>, name: string, file: string): boolean {
  const v = args.get(name);
  if (v === undefined || v === "") return false;
  const b = parseGoBool(v);
  if (b === undefined) throw argError(file, name, v, `invalid boolean value ${JSON.stringify(v)}`, "give 1 or 0 (true or false)");
  return b;
}

export function readBuilderArgs(args: ReadonlyMap<string, string>, file = "Dockerfile"): BuilderArgs {
  // as BuildKit's dockerui: an empty value is no value (no namespace; the default hostname)
  const ns = args.get("BUILDKIT_CACHE_MOUNT_NS") ?? "";
  const host = args.get("BUILDKIT_SANDBOX_HOSTNAME") ?? "";
  const fileop = args.get("BUILDKIT_DISABLE_FILEOP");
  if (fileop !== undefined && parseGoBool(fileop) === true) {
    throw argError(file, "BUILDKIT_DISABLE_FILEOP", fileop, 'support for "BUILDKIT_DISABLE_FILEOP" build-arg was removed in BuildKit 0.11');
  }
  return {
    inlineCache: bool(args, "BUILDKIT_INLINE_CACHE", file),
    multiPlatform: bool(args, "BUILDKIT_MULTI_PLATFORM", file),
    keepGitDir: bool(args, "BUILDKIT_CONTEXT_KEEP_GIT_DIR", file),
    ...(ns !== "" ? { cacheMountNamespace: ns } : {}),
    ...(host !== "" ? { sandboxHostname: host } : {}),
  };
}
