/** BuildKit's BFlags: the `--name[=value]` flags an instruction allows, parsed and validated. */
import { DockerfileError, type Position } from "./errors.js";

export type FlagKind = "string" | "bool" | "strings";
export type FlagSpec = Record<string, FlagKind>;
export type FlagValues = Map<string, string | boolean | string[]>;

export function parseFlags(instruction: string, raw: readonly string[], spec: FlagSpec, file: string, pos: Position): FlagValues {
  const out: FlagValues = new Map();
  for (const arg of raw) {
    if (!arg.startsWith("--")) {
      throw new DockerfileError("bad-flag", `${instruction}: arg should start with -- : ${arg}`, file, pos);
    }
    const body = arg.slice(2);
    const eq = body.indexOf("=");
    const name = eq === -1 ? body : body.slice(0, eq);
    const value = eq === -1 ? undefined : body.slice(eq + 1);
    const kind = spec[name.toLowerCase()] !== undefined ? spec[name.toLowerCase()] : spec[name];
    if (kind === undefined) {
      const allowed = Object.keys(spec);
      throw new DockerfileError("flag-not-allowed", `unknown flag: --${name} for ${instruction}`, file, pos,
        allowed.length ? `${instruction} accepts ${allowed.map((f) => "--" + f).join(", ")}` : `${instruction} takes no flags`);
    }
    const key = spec[name] !== undefined ? name : name.toLowerCase();
    if (kind === "bool") {
      if (value !== undefined && !["true", "false"].includes(value.toLowerCase())) {
        throw new DockerfileError("bad-flag", `expecting boolean value for flag ${name}, not: ${value}`, file, pos);
      }
      out.set(key, value === undefined || value.toLowerCase() === "true");
      continue;
    }
    if (value === undefined) {
      throw new DockerfileError("bad-flag", `missing a value on flag: ${name}`, file, pos, `write --${name}=VALUE`);
    }
    if (kind === "strings") {
      const prev = out.get(key);
      if (Array.isArray(prev)) prev.push(value);
      else out.set(key, [value]);
      continue;
    }
    if (out.has(key)) throw new DockerfileError("bad-flag", `duplicate flag specified: ${name}`, file, pos);
    out.set(key, value);
  }
  return out;
}

export const flagString = (f: FlagValues, k: string): string | undefined => {
  const v = f.get(k);
  return typeof v === "string" ? v : undefined;
};
export const flagBool = (f: FlagValues, k: string): boolean => f.get(k) === true;
export const flagStrings = (f: FlagValues, k: string): string[] => {
  const v = f.get(k);
  return Array.isArray(v) ? v : [];
};
