/**
 * What the store holds and who needs it, as prune and du see it: blobs, cache records (with last
 * use), committed snapshots (and which record or image needs each), RUN cache mounts, leftovers
 * of dead builds, and the live build sessions. Read-only; prune-plan.ts decides from it.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { dirSize, isDigest, liveSessions, OwnerCheck, type Digest, type SessionRecord, type Store } from "@tsbuild/oci";
import { listCommitted, listSnapshotDebris, type CommittedSnapshot, type SnapshotDebris } from "@tsbuild/snapshot";
import { LocalCache, leaseId } from "../cache/build-cache.js";
import { chainName } from "../step/snapshot-chain.js";
import { imageSnapshotNames } from "./image-chains.js";

export interface BlobUsage {
  size: number;
  mtimeMs: number;
}

export interface RecordUsage {
  key: string;
  layer?: Digest;
  diffId?: Digest;
  /** ms: the record file's mtime, touched on every hit */
  lastUsed: number;
  /** the sha256 hex digests its inputs name (context listings are kept by these) */
  refs: string[];
}

export interface SnapshotUsage extends CommittedSnapshot {
  size: number;
  /** the layer diff id whose records need this snapshot (its top layer), when a record has it */
  diffId?: string;
}

export interface Leftover {
  path: string;
  size: number;
  /** what it is, for messages: "tmp", "ingest", "snapshot debris" */
  what: string;
  /** removable only while no build runs (nothing says which process made it) */
  unowned: boolean;
  snapshotDebris?: SnapshotDebris;
}

export interface StoreUsage {
  now: number;
  sessions: SessionRecord[];
  blobs: Map<Digest, BlobUsage>;
  /** blobs image names need */
  imageBlobs: Set<Digest>;
  /** blobs that leases other than cache records' keep (e.g. imported caches) */
  otherLeased: Set<Digest>;
  /** lease ids of cache records whose record is gone */
  orphanLeases: string[];
  records: RecordUsage[];
  snapshots: SnapshotUsage[];
  /** snapshot names image names need */
  imageSnapshots: Set<string>;
  /** RUN --mount=type=cache directories */
  mounts: { path: string; size: number }[];
  /** what dead builds left: scratch dirs, ingest files, snapshot debris */
  leftovers: Leftover[];
  /** small cache files: what each COPY selected (for --explain; kept while a record names them), the context stat index */
  cacheFiles: { path: string; size: number; hex?: string }[];
  /** compressed copies of layers made for pushes and OCI outputs (cache/compressed/ALG/DIFFID → blob) */
  compressed: { memo: string; source: Digest; blob?: Digest }[];
}

export function snapshotsRoot(store: Store): string {
  return join(store.root, "snapshots");
}

export async function analyzeStore(store: Store, cache = new LocalCache(store)): Promise<StoreUsage> {
  const now = Date.now();
  const sessions = await liveSessions(store.root);
  const blobs = new Map<Digest, BlobUsage>();
  for await (const b of store.content.walk()) {
    const mtimeMs = await store.content.writtenAt(b.digest);
    if (mtimeMs !== undefined) blobs.set(b.digest, { size: b.size, mtimeMs });
  }
  const imageBlobs = new Set<Digest>();
  for (const r of await store.images.list()) await store.closure(r.target, imageBlobs);

  const records: RecordUsage[] = (await cache.list()).map(({ record, lastUsed }) => ({
    key: record.key, lastUsed, refs: JSON.stringify(record.inputs ?? {}).match(/[0-9a-f]{64}/g) ?? [],
    ...(record.layer ? { layer: record.layer.descriptor.digest, diffId: record.layer.diffId } : {}),
  }));
  const recordLeases = new Set(records.map((r) => leaseId(r.key)));
  const otherLeased = new Set<Digest>();
  const orphanLeases: string[] = [];
  for (const l of await store.leases()) {
    if (l.id.startsWith("cache-") && !recordLeases.has(l.id)) orphanLeases.push(l.id);
    else if (!l.id.startsWith("cache-")) for (const d of l.digests) if (isDigest(d)) otherLeased.add(d);
  }

  const root = snapshotsRoot(store);
  const diffIds = [...new Set(records.flatMap((r) => (r.diffId ? [r.diffId] : [])))];
  const snapshots: SnapshotUsage[] = [];
  const committed = await listCommitted(root);
  const parentOf = new Map(committed.map((s) => [s.name, s.parent]));
  for (const s of committed) {
    // a layer's snapshot is chainName(parent, diffId); an incremental COPY's delta snapshot sits
    // one further up, on the previous run's snapshot (incremental-copy.ts)
    const bases = s.parent === undefined ? [undefined] : [s.parent, parentOf.get(s.parent)];
    const diffId = diffIds.find((d) => bases.some((b) => chainName(b, d) === s.name));
    snapshots.push({ ...s, size: await dirSize(s.dir), ...(diffId ? { diffId } : {}) });
  }

  const mountsDir = join(store.root, "cache", "mounts");
  const mounts: { path: string; size: number }[] = [];
  for (const n of await readdir(mountsDir).catch(() => [] as string[])) mounts.push({ path: join(mountsDir, n), size: await dirSize(join(mountsDir, n)) });

  return {
    now, sessions, blobs, imageBlobs, otherLeased, orphanLeases, records, snapshots,
    imageSnapshots: await imageSnapshotNames(store), mounts, leftovers: await leftovers(store, root), cacheFiles: await cacheFiles(store),
    compressed: await compressedCopies(store),
  };
}

async function compressedCopies(store: Store): Promise<StoreUsage["compressed"]> {
  const out: StoreUsage["compressed"] = [];
  const dir = join(store.root, "cache", "compressed");
  for (const alg of await readdir(dir).catch(() => [] as string[])) {
    for (const n of await readdir(join(dir, alg)).catch(() => [] as string[])) {
      const source = `sha256:${n}`;
      if (!isDigest(source)) continue;
      const memo = join(dir, alg, n);
      const blob = (await readFile(memo, "utf8").catch(() => "")).trim();
      out.push({ memo, source, ...(isDigest(blob) ? { blob } : {}) });
    }
  }
  return out;
}

async function cacheFiles(store: Store): Promise<StoreUsage["cacheFiles"]> {
  const out: StoreUsage["cacheFiles"] = [];
  const listings = join(store.root, "cache", "listings");
  for (const n of await readdir(listings).catch(() => [] as string[])) {
    const m = /^([0-9a-f]{64})\.gz$/.exec(n);
    if (m) out.push({ path: join(listings, n), size: await dirSize(join(listings, n)), hex: m[1] as string });
  }
  const indexes = join(store.root, "cache", "context-index");
  for (const n of await readdir(indexes).catch(() => [] as string[])) out.push({ path: join(indexes, n), size: await dirSize(join(indexes, n)) });
  return out;
}

/** Scratch dirs and ingest files of dead owners, and snapshot debris (dead owners', or unowned). */
async function leftovers(store: Store, root: string): Promise<Leftover[]> {
  const out: Leftover[] = [];
  const owners = new OwnerCheck();
  const dead = (name: string) => owners.state(name);
  for (const [dir, what] of [[join(store.root, "tmp"), "tmp"], [join(store.root, "blobs", "ingest"), "ingest"]] as const) {
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      const state = dead(n);
      if (state === "live") continue;
      out.push({ path: join(dir, n), size: await dirSize(join(dir, n)), what, unowned: state === "unowned" });
    }
  }
  for (const d of await listSnapshotDebris(root, owners)) {
    if (d.owner === "live") continue;
    out.push({ path: d.path, size: await dirSize(d.path), what: "snapshot debris", unowned: d.unowned, snapshotDebris: d });
  }
  return out;
}
