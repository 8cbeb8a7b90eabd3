/**
 * `tsbuild run`'s docker-run flags, each value read as `docker run` reads it: `-v/--volume
 * SRC:DST[:ro|rw]` (a bind of a host directory or file; SRC absolute, made as a directory when
 * missing, as docker does; named volumes do not exist here), `-e/--env NAME=VALUE` or `NAME` (the
 * value taken from tsbuild's own environment, left out when it has none), and where the image's
 * options end and its command starts.
 */
import { isAbsolute, normalize } from "node:path";
import type { OptionSpec } from "./args.js";
import { UsageError } from "./args.js";

export interface VolumeSpec {
  source: string;
  target: string;
  readonly: boolean;
}

/** One `-v` value. */
export function parseVolume(spec: string): VolumeSpec {
  const parts = spec.split(":");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) throw new UsageError(`-v ${spec}: write SRC:DST or SRC:DST:ro (an absolute host path and a path in the container)`);
  const [source, target, mode] = parts as [string, string, string | undefined];
  if (!isAbsolute(source)) throw new UsageError(`-v ${spec}: ${source} is not an absolute host path (tsbuild run has no named volumes)`);
  if (!isAbsolute(target)) throw new UsageError(`-v ${spec}: the container path ${target} is not absolute`);
  if (normalize(target) === "/") throw new UsageError(`-v ${spec}: a volume cannot be the container's /`);
  let readonly = false;
  for (const m of (mode ?? "").split(",").filter(Boolean)) {
    if (m === "ro") readonly = true;
    else if (m === "rw") readonly = false;
    else throw new UsageError(`-v ${spec}: unknown volume option ${m} (tsbuild run knows ro and rw)`);
  }
  return { source: normalize(source), target: normalize(target), readonly };
}

/** One `-e` value as a NAME=VALUE entry, or undefined for a bare NAME the environment does not have. */
export function parseEnv(spec: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const eq = spec.indexOf("=");
  const name = eq === -1 ? spec : spec.slice(0, eq);
  if (name === "") throw new UsageError(`-e ${spec}: the variable has no name`);
  if (/\s/.test(name)) throw new UsageError(`-e ${spec}: a variable's name cannot hold white space`);
  if (eq !== -1) return spec;
  const v = env[name];
  return v === undefined ? undefined : `${name}=${v}`;
}

/**
 * Where the image's name is in `tsbuild run`'s arguments: the first argument that is neither an
 * option nor the value of one that takes a value (`--root DIR`, `-v SRC:DST`); after `--`, the next.
 * -1 when there is none.
 */
export function imageIndex(argv: readonly string[], specs: readonly OptionSpec[]): number {
  const takesValue = new Set(specs.flatMap((s) => (s.value ? [`--${s.name}`, ...(s.short ? [`-${s.short}`] : [])] : [])));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") return i + 1 < argv.length ? i + 1 : -1;
    if (!a.startsWith("-") || a === "-") return i;
    if (takesValue.has(a)) i++;
  }
  return -1;
}
