/** diskUsage(): what the store holds by kind, and how much `prune --all` would reclaim (as `docker system df`). */
import { defaultStoreRoot, Store, type Digest } from "@tsbuild/oci";
import { analyzeStore } from "./store-usage.js";
import { planPrune } from "./prune-plan.js";

export interface DiskUsageRow {
  type: "Images" | "Build cache" | "Snapshots" | "Cache mounts" | "Unused";
  count: number;
  size: number;
  reclaimable: number;
}

export interface DiskUsage {
  rows: DiskUsageRow[];
  total: number;
  reclaimable: number;
  /** builds running now (what they hold is not counted as reclaimable) */
  running: number;
}

export async function diskUsage(opts: { root?: string } = {}): Promise<DiskUsage> {
  const store = await Store.open(opts.root ?? defaultStoreRoot());
  const u = await analyzeStore(store);
  const plan = planPrune(u, { all: true });
  const freed = new Set(plan.blobs);
  const blobBytes = (ds: Iterable<Digest>, only?: Set<Digest>) => {
    let n = 0;
    for (const d of ds) if (!only || only.has(d)) n += u.blobs.get(d)?.size ?? 0;
    return n;
  };
  const present = (ds: Iterable<Digest>) => new Set([...ds].filter((d) => u.blobs.has(d)));
  const imageBlobs = present(u.imageBlobs);
  const recordBlobs = present(u.records.flatMap((r) => (r.layer && !imageBlobs.has(r.layer) ? [r.layer] : [])));
  const otherBlobs = new Set([...u.blobs.keys()].filter((d) => !imageBlobs.has(d) && !recordBlobs.has(d)));
  const sum = (xs: { size: number }[]) => xs.reduce((a, x) => a + x.size, 0);
  const images = (await store.images.list()).length;
  const rows: DiskUsageRow[] = [
    { type: "Images", count: images, size: blobBytes(imageBlobs), reclaimable: 0 },
    { type: "Build cache", count: u.records.length, size: blobBytes(recordBlobs) + sum(u.cacheFiles), reclaimable: blobBytes(recordBlobs, freed) + sum(plan.cacheFiles) },
    { type: "Snapshots", count: u.snapshots.length, size: sum(u.snapshots), reclaimable: sum(plan.snapshots) },
    { type: "Cache mounts", count: u.mounts.length, size: sum(u.mounts), reclaimable: sum(plan.mounts) },
    { type: "Unused", count: otherBlobs.size + u.leftovers.length, size: blobBytes(otherBlobs) + sum(u.leftovers), reclaimable: blobBytes(otherBlobs, freed) + sum(plan.leftovers) },
  ];
  return { rows, total: rows.reduce((a, r) => a + r.size, 0), reclaimable: plan.reclaimable, running: u.sessions.length };
}
