/**
 * `--explain`: for a step that missed the cache, the first input that differs from the closest
 * earlier record, in words. "Closest" is a record made on the same parent key (the same history
 * up to this step), preferring the same Dockerfile line, then the same instruction; with none, the
 * stage's base is compared with what earlier builds of this line started from.
 *
 *   COPY . /app: src/main.ts changed
 *   RUN make: build-arg VERSION 1.2 → 1.3
 *   FROM busybox: base image digest changed (sha256:4b6f… → sha256:91aa…)
 */
import type { BuildCache, CacheRecord } from "./build-cache.js";
import type { ContextListings } from "../context/listing.js";

/** Where the steps that missed in this build are, by their new key. */
export type MissedSteps = Map<string, { position: string; instruction: string }>;

/** Inputs compared in this order; any others after them. */
const ORDER = ["args", "instruction", "source", "env", "user", "workdir", "network", "mounts", "secrets", "chown", "chmod", "heredocs"];

export class MissExplainer {
  private records?: Promise<CacheRecord[]>;

  constructor(private readonly cache: BuildCache, private readonly listings: ContextListings) {}

  /** The whole line: `INSTRUCTION: reason`, or `FROM NAME: …` when the base changed. */
  async explain(now: CacheRecord, missed: MissedSteps): Promise<string> {
    const subject = `${now.instruction}: `;
    const before = now.parent !== undefined ? missed.get(now.parent) : undefined;
    if (before) return `${subject}the step before it was rebuilt (${before.position} ${before.instruction})`;
    const siblings = now.parent ? (await this.cache.children(now.parent)).filter((r) => r.key !== now.key) : [];
    if (siblings.length) return subject + (await this.compare(closest(siblings, now), now, missed));
    this.records ??= this.cache.all();
    const earlier = (await this.records).filter((r) => r.key !== now.key);
    const sameLine = earlier.filter((r) => r.position === now.position && r.instruction === now.instruction);
    const otherBase = latest(sameLine.filter((r) => r.base !== undefined && r.base !== now.base));
    if (otherBase?.base && now.base) return baseChange(otherBase.base, now.base);
    if (sameLine.length) return `${subject}what it builds on changed (the cache has this line only on another parent)`;
    return `${subject}no earlier build of this step is in the cache`;
  }

  private async compare(old: CacheRecord, now: CacheRecord, missed: MissedSteps): Promise<string> {
    const a = old.inputs ?? {};
    const b = now.inputs ?? {};
    const names = [...ORDER, ...Object.keys(b).filter((k) => !ORDER.includes(k)), ...Object.keys(a).filter((k) => !ORDER.includes(k) && !(k in b))];
    for (const name of names) {
      if (a[name] === b[name]) continue;
      switch (name) {
        case "args":
          return describeArgs(a[name], b[name]);
        case "instruction":
          return old.position !== now.position && old.instruction !== now.instruction
            ? `a new step here (earlier builds ran ${quote(old.instruction)} after the step before)`
            : `the instruction changed (was ${quote(old.instruction)})`;
        case "source":
          return this.describeSource(a[name], b[name], missed);
        case "env":
          return describeEnv(a[name], b[name]);
        case "downloads":
          return describeDownloads(a[name], b[name]);
        default:
          return `${name} changed: ${short(a[name])} → ${short(b[name])}`;
      }
    }
    return "the cache record for it is gone (pruned), though an identical step was built before";
  }

  private async describeSource(a: string | undefined, b: string | undefined, missed: MissedSteps): Promise<string> {
    if (a?.startsWith("context:") && b?.startsWith("context:")) {
      const [before, after] = await Promise.all([this.listings.load(a.slice(8)), this.listings.load(b.slice(8))]);
      if (!before || !after) return "the context files it copies changed";
      return describeFiles(before, after);
    }
    if (b?.startsWith("stage:")) {
      const m = missed.get(b.slice(6));
      return m ? `the stage it copies from was rebuilt (${m.position} ${m.instruction})` : "the stage it copies from changed";
    }
    return `what it copies from changed: ${short(a)} → ${short(b)}`;
  }
}

function closest(candidates: CacheRecord[], now: CacheRecord): CacheRecord {
  const keyword = (r: CacheRecord) => r.instruction.trim().split(/\s+/)[0]?.toUpperCase();
  return latest(candidates.filter((r) => r.position === now.position))
    ?? latest(candidates.filter((r) => keyword(r) === keyword(now)))
    ?? (latest(candidates) as CacheRecord);
}

function latest(rs: CacheRecord[]): CacheRecord | undefined {
  return rs.reduce<CacheRecord | undefined>((best, r) => (!best || r.created > best.created ? r : best), undefined);
}

function baseChange(old: string, now: string): string {
  const parse = (b: string) => {
    const m = /^image (.*)@(sha256:[0-9a-f]+)$/.exec(b);
    return m ? { name: m[1] as string, digest: m[2] as string } : undefined;
  };
  const o = parse(old);
  const n = parse(now);
  if (o && n && o.name === n.name) return `FROM ${shortName(n.name)}: base image digest changed (${shortDigest(o.digest)} → ${shortDigest(n.digest)})`;
  return `FROM: the base changed (${o ? shortName(o.name) : old} → ${n ? shortName(n.name) : now})`;
}

/** ADD's URLs (remote/add-urls.ts): which download's content or Last-Modified changed. */
function describeDownloads(a: string | undefined, b: string | undefined): string {
  type Entry = { name: string; checksum: string; lastModified?: string };
  const before = JSON.parse(a ?? "[]") as Entry[];
  const after = JSON.parse(b ?? "[]") as Entry[];
  for (const [n, e] of after.entries()) {
    const o = before[n];
    if (!o || o.name !== e.name) continue;
    if (o.checksum !== e.checksum) return `the download ${e.name} changed (${shortDigest(o.checksum)} → ${shortDigest(e.checksum)})`;
    if (o.lastModified !== e.lastModified) return `the download ${e.name} has another Last-Modified (${o.lastModified ?? "none"} → ${e.lastModified ?? "none"})`;
  }
  return `the downloads changed: ${short(a)} → ${short(b)}`;
}

function describeArgs(a: string | undefined, b: string | undefined): string {
  const before = new Map(JSON.parse(a ?? "[]") as [string, string][]);
  const after = new Map(JSON.parse(b ?? "[]") as [string, string][]);
  for (const [k, v] of after) {
    if (!before.has(k)) return `build-arg ${k}=${v} is new`;
    if (before.get(k) !== v) return `build-arg ${k} ${before.get(k)} → ${v}`;
  }
  for (const k of before.keys()) if (!after.has(k)) return `build-arg ${k} is no longer set`;
  return "the build args changed";
}

function describeEnv(a: string | undefined, b: string | undefined): string {
  const split = (s: string | undefined) => new Map((JSON.parse(s ?? "[]") as string[]).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  const before = split(a);
  const after = split(b);
  for (const [k, v] of after) {
    if (!before.has(k)) return `environment variable ${k}=${short(v)} is new`;
    if (before.get(k) !== v) return `environment variable ${k} ${short(before.get(k))} → ${short(v)}`;
  }
  for (const k of before.keys()) if (!after.has(k)) return `environment variable ${k} is no longer set`;
  return "the environment changed";
}

/** `src/main.ts changed`, `a.txt added, b.txt removed and 3 more`: files first, directories only if nothing else differs. */
function describeFiles(before: Map<string, string>, after: Map<string, string>): string {
  const changes: { path: string; what: string; dir: boolean }[] = [];
  const isDir = (line: string | undefined) => line?.startsWith("dir ") === true;
  for (const [p, line] of after) {
    const old = before.get(p);
    if (old === undefined) changes.push({ path: p, what: "added", dir: isDir(line) });
    else if (old !== line) changes.push({ path: p, what: isDir(line) === isDir(old) && modeOnly(old, line) ? "mode changed" : "changed", dir: isDir(line) });
  }
  for (const [p, line] of before) if (!after.has(p)) changes.push({ path: p, what: "removed", dir: isDir(line) });
  const files = changes.filter((c) => !c.dir);
  const shown = files.length ? files : changes;
  if (shown.length === 0) return "the context files it copies changed";
  const words = shown.slice(0, 3).map((c) => `${c.path || "."} ${c.what}`);
  return words.join(", ") + (shown.length > 3 ? ` and ${shown.length - 3} more` : "");
}

/** the same entry but for its mode field */
function modeOnly(a: string, b: string): boolean {
  const fa = a.split(" ");
  const fb = b.split(" ");
  if (fa[0] !== "file" || fb[0] !== "file" || fa.length !== fb.length) return false;
  const n = fa.length;
  return fa[n - 1] === fb[n - 1] && fa[n - 2] === fb[n - 2] && fa[n - 3] !== fb[n - 3];
}

function quote(s: string): string {
  return `«${s.length > 60 ? `${s.slice(0, 57)}...` : s}»`;
}

function short(s: string | undefined): string {
  if (s === undefined || s === "") return "(none)";
  return s.length > 48 ? `${s.slice(0, 45)}...` : s;
}

function shortDigest(d: string): string {
  return `${d.slice(0, 19)}…`;
}

function shortName(n: string): string {
  return n.replace(/^docker\.io\/library\//, "").replace(/^docker\.io\//, "");
}
