/**
 * Deciding what a prune removes, from a StoreUsage (pure: du uses it to say what is reclaimable).
 *
 * - Cache records: always those whose layer blob is gone (dangling); with `all` every one; with
 *   `untilMs` those not used for longer than that; with `keepStorage` the least recently used
 *   until the build cache (records' layer blobs and snapshots) fits.
 * - Snapshots: every one that no image name, no running build and no kept record needs (with
 *   the parent chain of each one kept, and the layers they share: a merged --link layer's own).
 * - RUN cache mounts: with `all`, unless a build is running (it may have one mounted).
 * - Context listings no kept record names; the context stat index with `all`.
 * - Compressed copies of layers (made for pushes): kept with their layer, except with `all`.
 * - Leftovers of dead builds (scratch dirs, ingest files, commit staging, trash); leftovers that
 *   say nothing about their owner only while no build runs.
 * - Blobs: what no image name, no remaining lease, no kept record and no running build needs;
 *   blobs written since the oldest running build started are kept (its unnamed output).
 */
import type { Digest } from "@tsbuild/oci";
import type { Leftover, RecordUsage, SnapshotUsage, StoreUsage } from "./store-usage.js";
import { leaseId } from "../cache/build-cache.js";

export interface PrunePolicy {
  all?: boolean;
  /** remove records not used for longer than this (ms) */
  untilMs?: number;
  /** remove least recently used records until the build cache takes at most this many bytes */
  keepStorage?: number;
}

export interface PrunePlan {
  records: RecordUsage[];
  leases: string[];
  snapshots: SnapshotUsage[];
  mounts: { path: string; size: number }[];
  leftovers: Leftover[];
  cacheFiles: { path: string; size: number }[];
  /** blobs the plan expects gc to remove */
  blobs: Digest[];
  /** what gc must keep besides image names and leases */
  keepBlobs: Set<Digest>;
  keepWrittenSince?: number;
  reclaimable: number;
  notes: string[];
}

/** Clock skew and mtime granularity allowance for "written since a running build started". */
const SESSION_SLACK_MS = 5_000;

export function planPrune(u: StoreUsage, policy: PrunePolicy): PrunePlan {
  const live = u.sessions.length > 0;
  const heldDigests = new Set(u.sessions.flatMap((s) => s.digests));
  const heldSnapshots = new Set(u.sessions.flatMap((s) => s.snapshots));
  const protectedBlobs = new Set<Digest>([...u.imageBlobs, ...u.otherLeased, ...heldDigests]);
  const protectedSnapshot = (s: SnapshotUsage) => u.imageSnapshots.has(s.name) || heldSnapshots.has(s.name);

  const removed = new Set<RecordUsage>();
  for (const r of u.records) {
    if ((r.layer && !u.blobs.has(r.layer)) || policy.all) removed.add(r);
    else if (policy.untilMs !== undefined && r.lastUsed < u.now - policy.untilMs) removed.add(r);
  }
  if (policy.keepStorage !== undefined) trimToSize(u, removed, policy.keepStorage, protectedBlobs, protectedSnapshot);
  const kept = u.records.filter((r) => !removed.has(r));

  const keptDiffIds = new Set<string>(kept.flatMap((r) => (r.diffId ? [r.diffId] : [])));
  const byName = new Map(u.snapshots.map((s) => [s.name, s]));
  const keepSnaps = new Set<string>();
  // a kept snapshot keeps its parent chain, and the snapshots whose layer directories it and its
  // parents share (CommittedSnapshot.lower: mounted with them)
  const keep = (s: SnapshotUsage | undefined): void => {
    for (let cur = s; cur && !keepSnaps.has(cur.name); cur = cur.parent !== undefined ? byName.get(cur.parent) : undefined) {
      keepSnaps.add(cur.name);
      if (cur.lower !== undefined) keep(byName.get(cur.lower));
    }
  };
  for (const s of u.snapshots) if (protectedSnapshot(s) || (s.diffId && keptDiffIds.has(s.diffId))) keep(s);
  const snapshots = u.snapshots.filter((s) => !keepSnaps.has(s.name));

  const notes: string[] = [];
  let mounts: PrunePlan["mounts"] = [];
  if (policy.all && live) notes.push(`RUN cache mounts kept: ${u.sessions.length} build(s) running`);
  else if (policy.all) mounts = u.mounts;
  const leftovers = u.leftovers.filter((l) => !l.unowned || !live);
  const named = new Set(kept.flatMap((r) => r.refs));
  const cacheFiles = u.cacheFiles.filter((f) => (f.hex !== undefined ? !named.has(f.hex) : policy.all));

  const keepBlobs = new Set<Digest>([...heldDigests, ...kept.flatMap((r) => (r.layer ? [r.layer] : []))]);
  // a layer's compressed copy stays while the layer does (pushing again then costs nothing)
  const staying = (d: Digest) => protectedBlobs.has(d) || keepBlobs.has(d);
  for (const c of u.compressed) {
    if (!policy.all && c.blob && staying(c.source)) keepBlobs.add(c.blob);
    else cacheFiles.push({ path: c.memo, size: 0 });
  }
  const keepWrittenSince = live ? Math.min(...u.sessions.map((s) => Date.parse(s.started))) - SESSION_SLACK_MS : undefined;
  const blobs = [...u.blobs].filter(([d, b]) => !protectedBlobs.has(d) && !keepBlobs.has(d) && (keepWrittenSince === undefined || b.mtimeMs < keepWrittenSince)).map(([d]) => d);

  const sum = (xs: { size: number }[]) => xs.reduce((a, x) => a + x.size, 0);
  const reclaimable = sum(snapshots) + sum(mounts) + sum(leftovers) + sum(cacheFiles) + blobs.reduce((a, d) => a + (u.blobs.get(d)?.size ?? 0), 0);
  return {
    records: [...removed], leases: [...[...removed].map((r) => leaseId(r.key)), ...u.orphanLeases],
    snapshots, mounts, leftovers, cacheFiles, blobs, keepBlobs, ...(keepWrittenSince !== undefined ? { keepWrittenSince } : {}), reclaimable, notes,
  };
}

/**
 * Adds the least recently used records to `removed` until the build cache (layer blobs only
 * records need, snapshots only records need) is at most `limit` bytes.
 */
function trimToSize(u: StoreUsage, removed: Set<RecordUsage>, limit: number, protectedBlobs: Set<Digest>, protectedSnapshot: (s: SnapshotUsage) => boolean): void {
  const kept = u.records.filter((r) => !removed.has(r)).sort((a, b) => a.lastUsed - b.lastUsed);
  const blobRefs = new Map<Digest, number>();
  const diffRefs = new Map<string, number>();
  for (const r of kept) {
    if (r.layer) blobRefs.set(r.layer, (blobRefs.get(r.layer) ?? 0) + 1);
    if (r.diffId) diffRefs.set(r.diffId, (diffRefs.get(r.diffId) ?? 0) + 1);
  }
  const snapSize = new Map<string, number>();
  for (const s of u.snapshots) if (s.diffId && !protectedSnapshot(s)) snapSize.set(s.diffId, (snapSize.get(s.diffId) ?? 0) + s.size);
  let size = 0;
  for (const d of blobRefs.keys()) if (!protectedBlobs.has(d)) size += u.blobs.get(d)?.size ?? 0;
  for (const d of diffRefs.keys()) size += snapSize.get(d) ?? 0;
  for (const r of kept) {
    if (size <= limit) return;
    removed.add(r);
    if (r.layer && (blobRefs.set(r.layer, (blobRefs.get(r.layer) ?? 1) - 1), blobRefs.get(r.layer) === 0) && !protectedBlobs.has(r.layer)) size -= u.blobs.get(r.layer)?.size ?? 0;
    if (r.diffId && (diffRefs.set(r.diffId, (diffRefs.get(r.diffId) ?? 1) - 1), diffRefs.get(r.diffId) === 0)) size -= snapSize.get(r.diffId) ?? 0;
  }
}
