/**
 * `--cache-from` / `--cache-to` specs (CLI.md), spelled as docker buildx spells them:
 *   --cache-from type=local,src=DIR | type=registry,ref=REF | REF (shorthand for type=registry)
 *   --cache-to   type=local,dest=DIR[,mode=min|max] | type=registry,ref=REF[,mode=min|max] | type=inline
 * plus buildx's `ignore-error=true` (a failed export warns instead of failing the build). A bad spec
 * is a CacheSpecError, which the CLI reports as a usage error (exit 2).
 */
import { parseSpecFields, SpecSyntaxError, type SpecField } from "@tsbuild/dockerfile";
import { parseReference } from "@tsbuild/oci";

/** min: the records of the final image's steps (the final stage's chain); max: every step the build ran or hit. */
export type CacheMode = "min" | "max";

export type CacheFromSpec =
  | { type: "local"; src: string }
  | { type: "registry"; ref: string };

export type CacheToSpec =
  | { type: "local"; dest: string; mode: CacheMode; ignoreError?: boolean }
  | { type: "registry"; ref: string; mode: CacheMode; ignoreError?: boolean }
  | { type: "inline" };

export class CacheSpecError extends Error {
  override readonly name = "CacheSpecError";
}

/** buildx options that describe what tsbuild always does (an OCI image manifest with OCI media types). */
const ALWAYS_TRUE = new Set(["oci-mediatypes", "image-manifest"]);

/** The spec's fields (CSV, quoted as buildx), keys lowercased as buildx does, keys and values trimmed. */
function split(flag: string, spec: string): Map<string, string> {
  let fields: SpecField[];
  try {
    fields = parseSpecFields(spec);
  } catch (e) {
    if (e instanceof SpecSyntaxError) throw new CacheSpecError(`${flag} ${spec}: ${e.message} (quote a whole field that holds a comma: "ref=a,b")`);
    throw e;
  }
  const kv = new Map<string, string>();
  for (const f of fields) {
    const k = f.key.trim().toLowerCase();
    if (f.value === undefined || k === "") throw new CacheSpecError(`${flag} ${spec}: "${f.text}" is not KEY=VALUE`);
    if (kv.has(k)) throw new CacheSpecError(`${flag} ${spec}: ${k}= is given twice`);
    kv.set(k, f.value.trim());
  }
  return kv;
}

function checkKeys(flag: string, spec: string, kv: Map<string, string>, allowed: string[]): void {
  for (const k of kv.keys()) {
    if (ALWAYS_TRUE.has(k)) {
      if (kv.get(k) !== "true") throw new CacheSpecError(`${flag} ${spec}: ${k}=${kv.get(k)} is not supported (tsbuild always writes an OCI image manifest)`);
      continue;
    }
    if (!allowed.includes(k)) throw new CacheSpecError(`${flag} ${spec}: unknown option ${k}= (use ${allowed.map((a) => `${a}=`).join(", ")})`);
  }
}

function required(flag: string, spec: string, kv: Map<string, string>, key: string, what: string): string {
  const v = kv.get(key);
  if (!v) throw new CacheSpecError(`${flag} ${spec}: type=${kv.get("type")} needs ${key}=${what}`);
  return v;
}

/** A registry reference that parses; an export needs a tag to push the cache under. */
function reference(flag: string, spec: string, ref: string, needTag: boolean): string {
  let parsed: ReturnType<typeof parseReference>;
  try {
    parsed = parseReference(ref);
  } catch (e) {
    throw new CacheSpecError(`${flag} ${spec}: ${(e as Error).message}`);
  }
  if (needTag && parsed.digest) throw new CacheSpecError(`${flag} ${spec}: ref=${ref} names a digest; give a tag to push the cache under (e.g. ref=REPO:buildcache)`);
  return ref;
}

function mode(flag: string, spec: string, kv: Map<string, string>): CacheMode {
  const m = kv.get("mode") ?? "min";
  if (m !== "min" && m !== "max") throw new CacheSpecError(`${flag} ${spec}: mode=${m}: use mode=min or mode=max`);
  return m;
}

function ignoreError(flag: string, spec: string, kv: Map<string, string>): { ignoreError?: boolean } {
  const v = kv.get("ignore-error");
  if (v === undefined) return {};
  if (v !== "true" && v !== "false") throw new CacheSpecError(`${flag} ${spec}: ignore-error=${v}: use true or false`);
  return { ignoreError: v === "true" };
}

/** Parses one `--cache-from` value. */
export function parseCacheFrom(spec: string): CacheFromSpec {
  const flag = "--cache-from";
  if (!spec.trim()) throw new CacheSpecError(`${flag}: empty value (use type=local,src=DIR or type=registry,ref=REF)`);
  if (!spec.includes("=")) return { type: "registry", ref: reference(flag, spec, spec.trim(), false) };
  const kv = split(flag, spec);
  const type = kv.get("type");
  switch (type) {
    case "local":
      checkKeys(flag, spec, kv, ["type", "src"]);
      return { type: "local", src: required(flag, spec, kv, "src", "DIR") };
    case "registry":
      checkKeys(flag, spec, kv, ["type", "ref"]);
      return { type: "registry", ref: reference(flag, spec, required(flag, spec, kv, "ref", "REF"), false) };
    case undefined:
      throw new CacheSpecError(`${flag} ${spec}: type= is required (type=local,src=DIR or type=registry,ref=REF)`);
    default:
      throw new CacheSpecError(`${flag} ${spec}: unknown type=${type} (use local or registry)`);
  }
}

/** Parses one `--cache-to` value. */
export function parseCacheTo(spec: string): CacheToSpec {
  const flag = "--cache-to";
  if (!spec.trim()) throw new CacheSpecError(`${flag}: empty value (use type=local,dest=DIR, type=registry,ref=REF or type=inline)`);
  const kv = split(flag, spec);
  const type = kv.get("type");
  switch (type) {
    case "local": {
      checkKeys(flag, spec, kv, ["type", "dest", "mode", "ignore-error"]);
      return { type: "local", dest: required(flag, spec, kv, "dest", "DIR"), mode: mode(flag, spec, kv), ...ignoreError(flag, spec, kv) };
    }
    case "registry": {
      checkKeys(flag, spec, kv, ["type", "ref", "mode", "ignore-error"]);
      return { type: "registry", ref: reference(flag, spec, required(flag, spec, kv, "ref", "REF"), true), mode: mode(flag, spec, kv), ...ignoreError(flag, spec, kv) };
    }
    case "inline": {
      checkKeys(flag, spec, kv, ["type", "mode"]);
      if (mode(flag, spec, kv) !== "min") throw new CacheSpecError(`${flag} ${spec}: type=inline only supports mode=min (the image holds only its own layers); use type=registry or type=local for mode=max`);
      return { type: "inline" };
    }
    case undefined:
      throw new CacheSpecError(`${flag} ${spec}: type= is required (type=local,dest=DIR, type=registry,ref=REF or type=inline)`);
    default:
      throw new CacheSpecError(`${flag} ${spec}: unknown type=${type} (use local, registry or inline)`);
  }
}
