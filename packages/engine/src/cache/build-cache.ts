/**
 * The local build cache: one record per step key under <store>/cache/records/<hex>.json (written
 * atomically), holding what the step produced (its layer, or nothing for a metadata step), when,
 * and the named inputs its key was made of (so `--explain` can say which one changed). A hit
 * reuses the layer (unpacking it into a snapshot if the snapshot is gone) and runs nothing.
 * Records protect their layer blob with a lease, so garbage collection keeps it. Each record is
 * also listed under cache/children/<parent hex>/ (an empty file named by its key), so the records
 * made on the same parent are found without reading them all.
 */
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic, type Descriptor, type Digest, type Store } from "@tsbuild/oci";

export interface CacheRecord {
  key: string;
  /** the key of the step before it (or of the stage's start) */
  parent?: string;
  /** what the stage started from: `image NAME@DIGEST`, `scratch` or `stage NAME` */
  base?: string;
  /** the named inputs of the key besides the parent (instruction, args, files, env, …), for --explain */
  inputs?: Record<string, string>;
  /** the stage name or index */
  stage?: string;
  /** the step as written in the Dockerfile */
  instruction: string;
  /** FILE:LINE */
  position: string;
  createdBy: string;
  created: string;
  layer?: { descriptor: Descriptor; diffId: Digest };
}

/** The lease that keeps a record's layer blob. */
export function leaseId(key: string): string {
  return `cache-${key.replace(/^sha256:/, "")}`;
}

/**
 * The build cache as a build uses it: records by step key, their children (other steps that
 * followed the same parent), and writes that may finish after the step. LocalCache (the store's
 * cache/records) implements it; ImportingCache adds records from --cache-from behind it.
 */
export interface BuildCache {
  /** The record of `key` when its layer (if any) is in the store; looking it up marks it used. */
  get(key: string): Promise<CacheRecord | undefined>;
  /** The records made on `parent`, layers present; not marked used. */
  children(parent: string): Promise<CacheRecord[]>;
  /** Every record (for --explain's search of what a miss was closest to); not marked used. */
  all(): Promise<CacheRecord[]>;
  /** Writes `r` once `after` has settled (its layer's own write); get() answers it from memory meanwhile. */
  putLater(r: CacheRecord, after?: Promise<unknown>): Promise<void>;
}

export class LocalCache implements BuildCache {
  constructor(private readonly store: Store) {}

  private get dir(): string {
    return join(this.store.root, "cache", "records");
  }

  private path(key: string): string {
    return join(this.dir, `${hex(key)}.json`);
  }

  /** Records this build made whose files are still being written (see putLater). */
  private readonly writing = new Map<string, CacheRecord>();

  /** A record to use (a hit): its last use becomes now. */
  async get(key: string): Promise<CacheRecord | undefined> {
    const w = this.writing.get(key);
    if (w) return !w.layer || (await this.store.content.has(w.layer.descriptor.digest)) ? w : undefined;
    const r = await this.read(key);
    if (r) await this.touch(key);
    return r;
  }

  /** A record as it is, its layer present; reading it is not using it. */
  private async read(key: string): Promise<CacheRecord | undefined> {
    try {
      const r = JSON.parse(await readFile(this.path(key), "utf8")) as CacheRecord;
      if (r.key !== key) return undefined;
      if (r.layer && !(await this.store.content.has(r.layer.descriptor.digest))) return undefined;
      return r;
    } catch {
      return undefined;
    }
  }

  /**
   * Writes a record off the build's critical path (its lease and file cost four fsyncs): after
   * `after` (the layer blob's own write, when that is still running), so a record never names a
   * blob that is not in the store. Meanwhile get() answers from memory. The returned promise is
   * the write; build() waits for all of them before it writes the image.
   */
  putLater(r: CacheRecord, after: Promise<unknown> = Promise.resolve()): Promise<void> {
    this.writing.set(r.key, r);
    const done = after.then(() => this.put(r)).finally(() => {
      if (this.writing.get(r.key) === r) this.writing.delete(r.key);
    });
    done.catch(() => undefined); // (the build awaits it and fails with it)
    return done;
  }

  async put(r: CacheRecord): Promise<void> {
    if (r.layer) await this.store.putLease({ id: leaseId(r.key), digests: [r.layer.descriptor.digest] });
    await writeFileAtomic(this.path(r.key), JSON.stringify(r));
    if (r.parent) {
      const dir = this.childrenDir(r.parent);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, hex(r.key)), "");
    }
  }

  private childrenDir(parent: string): string {
    return join(this.store.root, "cache", "children", hex(parent));
  }

  /** The records made on `parent` (other steps that followed the same history); not marked used. */
  async children(parent: string): Promise<CacheRecord[]> {
    const names = await readdir(this.childrenDir(parent)).catch(() => [] as string[]);
    const records = await Promise.all(names.map((n) => this.read(`sha256:${n}`)));
    return records.filter((r): r is CacheRecord => r !== undefined);
  }

  /** Marks a record used now: its file's mtime is its last use (prune --filter until=, --keep-storage). */
  private async touch(key: string): Promise<void> {
    const now = new Date();
    await utimes(this.path(key), now, now).catch(() => undefined);
  }

  /** Every record with its last use (ms), for prune and du; unreadable files are skipped. */
  async list(): Promise<{ record: CacheRecord; lastUsed: number }[]> {
    const out: { record: CacheRecord; lastUsed: number }[] = [];
    for (const n of await readdir(this.dir).catch(() => [] as string[])) {
      if (!n.endsWith(".json")) continue;
      try {
        const file = join(this.dir, n);
        const s = await stat(file);
        out.push({ record: JSON.parse(await readFile(file, "utf8")) as CacheRecord, lastUsed: s.mtimeMs });
      } catch {
        // removed meanwhile, or a stray file
      }
    }
    return out;
  }

  /** Removes a record, its entry among its parent's children and the lease that kept its layer (prune; under the store's gc lock). */
  async remove(key: string): Promise<void> {
    const parent = await readFile(this.path(key), "utf8").then((t) => (JSON.parse(t) as CacheRecord).parent, () => undefined);
    await rm(this.path(key), { force: true });
    if (parent) await rm(join(this.childrenDir(parent), hex(key)), { force: true });
    await this.store.removeLease(leaseId(key));
  }

  /** Every readable record (for --explain; unreadable files are skipped). */
  async all(): Promise<CacheRecord[]> {
    const out: CacheRecord[] = [];
    for (const n of await readdir(this.dir).catch(() => [] as string[])) {
      if (!n.endsWith(".json")) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.dir, n), "utf8")) as CacheRecord);
      } catch {
        // a record being replaced or a stray file: not evidence of anything
      }
    }
    return out;
  }
}

function hex(key: string): string {
  return key.replace(/^sha256:/, "");
}
