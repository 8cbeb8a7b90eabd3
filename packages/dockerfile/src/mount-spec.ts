/**
 * `RUN --mount=…` as a typed value: BuildKit's parseMount (dockerfile frontend 1.7,
 * instructions/commands_runmount.go) and the defaults its dispatch fills in (convert_runmount.go,
 * convert_secrets.go, convert_ssh.go).
 *
 * `env=` of a secret is BuildKit's newer option (dockerfile 1.10): the secret in the RUN's environment,
 * as a file too only when a target is given.
 *
 * Read field by field, in order, as BuildKit does: keys are lowercased, values kept as written;
 * a later key wins over an earlier one; `required` and `size` are checked against the type given so
 * far (so `required,type=secret` is an error, as in BuildKit). Keys without `=`: `ro`/`readonly`,
 * `rw`/`readwrite`, `required`. Booleans are Go's strconv.ParseBool (1, t, true, TRUE, 0, f, false…).
 * Any other key, or a key a type does not take, is a MountSpecError: never ignored. What BuildKit
 * accepts and then does nothing with is accepted here too and dropped from the value: `id` of a
 * bind or tmpfs mount, `from`/`source` of a tmpfs mount, `ro`/`rw` of a secret or ssh mount, `env`
 * of any mount but a secret.
 */
import { posix } from "node:path";
import { parseSpecFields, quoteSpecField, type SpecField } from "./spec-fields.js";

export type CacheSharing = "shared" | "private" | "locked";

/** A directory or file of the context (no `from`), an earlier stage or an image, bound in. */
export interface BindMountSpec {
  type: "bind";
  target: string;
  /** a path in the source; "" for its root */
  source: string;
  from?: string;
  /** writable (into a throwaway copy); read-only by default */
  readwrite: boolean;
}
/** A directory that outlives the build, shared by every RUN that mounts the same id. */
export interface CacheMountSpec {
  type: "cache";
  target: string;
  /** default: the target, cleaned */
  id: string;
  readonly: boolean;
  /** default: shared */
  sharing: CacheSharing;
  /** what a new cache starts with: a stage or image, and a path in it */
  from?: string;
  source?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}
export interface TmpfsMountSpec {
  type: "tmpfs";
  target: string;
  readonly: boolean;
  /** bytes; undefined for no limit */
  size?: number;
}
export interface SecretMountSpec {
  type: "secret";
  /** default: source=, else the base name of the target */
  id: string;
  /** default: /run/secrets/ and the base name of the id, unless `env` is set (then no file) */
  target?: string;
  /** the RUN's environment variable that holds the secret */
  env?: string;
  required: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
}
export interface SshMountSpec {
  type: "ssh";
  /** default: "default" */
  id: string;
  /** undefined: BuildKit's agent socket path */
  target?: string;
  required: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
}
export type MountSpec = BindMountSpec | CacheMountSpec | TmpfsMountSpec | SecretMountSpec | SshMountSpec;
export type MountType = MountSpec["type"];

/** A --mount value that BuildKit refuses too; the message is BuildKit's where it has one. */
export class MountSpecError extends Error {
  override readonly name = "MountSpecError";
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

const TYPES: readonly MountType[] = ["bind", "cache", "tmpfs", "secret", "ssh"];
const SHARING: readonly CacheSharing[] = ["shared", "private", "locked"];
/** BuildKit 1.7's list for suggestions (it accepts `size` and `destination` without listing them) */
const KEYS = ["type", "from", "source", "target", "readonly", "id", "sharing", "required", "mode", "uid", "gid", "src", "dst", "ro", "rw", "readwrite", "env"];

/** Go's strconv.ParseBool */
function parseBool(key: string, value: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new MountSpecError(`invalid value for ${key}: ${value}`, `write ${key}=true or ${key}=false`);
}

/** Go's strconv.ParseUint(value, base, 32) */
function parseUint32(key: string, value: string, base: 8 | 10): number {
  const n = (base === 8 ? /^[0-7]+$/ : /^[0-9]+$/).test(value) ? Number.parseInt(value, base) : Number.NaN;
  if (!(n <= 0xffffffff)) throw new MountSpecError(`invalid value ${value} for ${key}`, base === 8 ? `write ${key}= in octal, e.g. ${key}=0755` : `write ${key}= as a number`);
  return n;
}

/** docker/go-units RAMInBytes (v0.5.0): 64m, 1.5GiB, 512 k, 100 (bytes); binary multiples. */
export function parseRamBytes(value: string): number {
  const bad = () => new MountSpecError(`invalid value for size: ${value}`, "write size=BYTES, e.g. size=64m");
  let sep = -1;
  for (let i = value.length - 1; i >= 0; i--) if ("0123456789. ".includes(value[i] as string)) { sep = i; break; }
  if (sep === -1) throw bad();
  const num = value[sep] === " " ? value.slice(0, sep) : value.slice(0, sep + 1);
  const sfx = value.slice(sep + 1).toLowerCase();
  if (!/^\+?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(num)) throw bad();
  const size = Number(num);
  if (sfx === "" || sfx === "b") return Math.trunc(size);
  const mul = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 }[sfx[0] as string];
  if (mul === undefined || !["", "b", "ib"].includes(sfx.slice(1))) throw new MountSpecError(`invalid suffix: '${sfx}'`, "write size=BYTES, e.g. size=64m");
  return Math.trunc(size * mul);
}

function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length] as number;
}

/** BuildKit's suggest.WrapError: the closest option under distance 3. */
function suggestion(value: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    if (o === value) return undefined;
    const d = levenshtein(value, o);
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best !== undefined ? `did you mean ${best}?` : undefined;
}

/** `value` lowercased, if it is one of `allowed` */
function oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  const v = value.toLowerCase() as T;
  if (!allowed.includes(v)) throw new MountSpecError(`unsupported ${what} "${value}"`, suggestion(value, allowed));
  return v;
}

interface Draft {
  type: MountType;
  from?: string;
  source?: string;
  target?: string;
  readonly?: boolean;
  size?: number;
  id?: string;
  sharing?: CacheSharing;
  required: boolean;
  env?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

function read(fields: readonly SpecField[]): Draft {
  const m: Draft = { type: "bind", required: false };
  const unexpected = (key: string) => new MountSpecError(`unexpected key '${key}' for mount type '${m.type}'`);
  for (const f of fields) {
    const key = f.key.toLowerCase();
    const value = f.value;
    if (value === undefined) {
      if (key === "readonly" || key === "ro") m.readonly = true;
      else if (key === "readwrite" || key === "rw") m.readonly = false;
      else if (key === "required") {
        if (m.type !== "secret" && m.type !== "ssh") throw unexpected(key);
        m.required = true;
      } else throw new MountSpecError(`invalid field '${f.text}' must be a key=value pair`);
      continue;
    }
    switch (key) {
      case "type":
        m.type = oneOf("mount type", value, TYPES);
        break;
      case "from":
        m.from = value;
        break;
      case "source":
      case "src":
        m.source = value;
        break;
      case "target":
      case "dst":
      case "destination":
        m.target = value;
        break;
      case "readonly":
      case "ro":
        m.readonly = parseBool(key, value);
        break;
      case "readwrite":
      case "rw":
        m.readonly = !parseBool(key, value);
        break;
      case "required":
        if (m.type !== "secret" && m.type !== "ssh") throw unexpected(key);
        m.required = parseBool(key, value);
        break;
      case "size":
        if (m.type !== "tmpfs") throw unexpected(key);
        m.size = parseRamBytes(value);
        break;
      case "id":
        m.id = value;
        break;
      case "sharing":
        m.sharing = oneOf("sharing value", value, SHARING);
        break;
      case "mode":
        m.mode = parseUint32(key, value, 8);
        break;
      case "uid":
        m.uid = parseUint32(key, value, 10);
        break;
      case "gid":
        m.gid = parseUint32(key, value, 10);
        break;
      case "env":
        m.env = value;
        break;
      default:
        throw new MountSpecError(`unexpected key '${key}' in '${f.text}'`, suggestion(key, KEYS));
    }
  }
  return m;
}

const owner = (m: Draft) => ({ ...(m.mode !== undefined ? { mode: m.mode } : {}), ...(m.uid !== undefined ? { uid: m.uid } : {}), ...(m.gid !== undefined ? { gid: m.gid } : {}) });

/** A target the type needs: BuildKit would mount at the working directory; tsbuild asks for it. */
function target(m: Draft): string {
  if (m.target === undefined || m.target === "") throw new MountSpecError(`a ${m.type} mount needs target=PATH`, `write --mount=type=${m.type},target=PATH`);
  return m.target;
}

/** Checks one --mount value's fields and fills in BuildKit's defaults (throws MountSpecError). */
export function mountSpecFromFields(fields: readonly SpecField[]): MountSpec {
  const m = read(fields);
  if (m.type === "bind" || m.type === "tmpfs") {
    for (const k of ["mode", "uid", "gid"] as const) if (m[k] !== undefined) throw new MountSpecError(`${k} not allowed for "${m.type}" type mounts`);
  }
  if (m.type === "secret") {
    if (m.from !== undefined && m.from !== "") throw new MountSpecError("secret mount should not have a from");
    if (m.sharing) throw new MountSpecError("secret mount should not define sharing");
    if (!m.source && !m.target && !m.id) throw new MountSpecError("invalid secret mount. one of source, target required", "write --mount=type=secret,id=ID");
    if (m.source && m.id) throw new MountSpecError("both source and id can't be set");
    if (m.env === "") throw new MountSpecError("env= needs the name of an environment variable", "write env=NAME");
  }
  if (m.sharing && m.type !== "cache") throw new MountSpecError(`invalid cache sharing set for ${m.type} mount`);
  switch (m.type) {
    case "bind":
      return { type: "bind", target: target(m), source: m.source ?? "", ...(m.from ? { from: m.from } : {}), readwrite: m.readonly === false };
    case "cache": {
      const t = target(m);
      return {
        type: "cache", target: t, id: m.id || posix.normalize(t).replace(/(.)\/$/, "$1"), readonly: m.readonly === true, sharing: m.sharing ?? "shared",
        ...(m.from ? { from: m.from } : {}), ...(m.source ? { source: m.source } : {}), ...owner(m),
      };
    }
    case "tmpfs":
      return { type: "tmpfs", target: target(m), readonly: m.readonly === true, ...(m.size ? { size: m.size } : {}) };
    case "secret": {
      const id = m.source || m.id || posix.basename(m.target as string);
      const file = m.target || (m.env === undefined ? `/run/secrets/${posix.basename(id)}` : undefined);
      return { type: "secret", id, ...(file !== undefined ? { target: file } : {}), ...(m.env !== undefined ? { env: m.env } : {}), required: m.required, ...owner(m) };
    }
    case "ssh":
      if (m.source) throw new MountSpecError("ssh does not support source");
      return { type: "ssh", id: m.id || "default", ...(m.target ? { target: m.target } : {}), required: m.required, ...owner(m) };
  }
}

/** Parses one --mount value (CSV quoting as BuildKit; throws SpecSyntaxError or MountSpecError). */
export function parseMountSpec(spec: string): MountSpec {
  return mountSpecFromFields(parseSpecFields(spec));
}

/**
 * The mount in one canonical spelling: every field, defaults included, in a fixed order. Two
 * spellings of the same mount (other option order, `src` for `source`, `rw=true` for `readwrite`,
 * an id equal to the default) give the same string; parseMountSpec reads it back to the same value.
 * A RUN's cache key hashes these (packages/engine/src/instructions/run.ts), not the text as written.
 */
export function canonicalMountSpec(m: MountSpec): string {
  const f: [string, string | number | boolean | undefined][] = [["type", m.type]];
  switch (m.type) {
    case "bind":
      f.push(["target", m.target], ["source", m.source], ["from", m.from], ["readwrite", m.readwrite]);
      break;
    case "cache":
      f.push(["target", m.target], ["id", m.id], ["readonly", m.readonly], ["sharing", m.sharing], ["from", m.from], ["source", m.source]);
      break;
    case "tmpfs":
      f.push(["target", m.target], ["readonly", m.readonly], ["size", m.size]);
      break;
    case "secret":
      f.push(["id", m.id], ["target", m.target], ["env", m.env], ["required", m.required]);
      break;
    case "ssh":
      f.push(["id", m.id], ["target", m.target], ["required", m.required]);
      break;
  }
  if (m.type !== "bind" && m.type !== "tmpfs") f.push(["mode", m.mode?.toString(8)], ["uid", m.uid], ["gid", m.gid]);
  return f.filter(([, v]) => v !== undefined).map(([k, v]) => quoteSpecField(`${k}=${v}`)).join(",");
}
