/** diskUsage(): what the store holds by kind, and how much `prune --all` would reclaim (as `docker system df`). */
import { defaultStoreRoot, Store, type Digest } from "@tsbuild/oci";
import { analyzeStore } from "./store-usage.js";
import { planPrune } from "./prune-plan.js";

export interface DiskUsageRow {
  type: "Images" | "Blobs" | "Build cache" | "Snapshots" | "Cache mounts" | "Leftovers";
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
  const sum = (xs: { size: number }[]) => xs.reduce((a, x) => a + x.size, 0);
  const images = (await store.images.list()).length;
  const rows: DiskUsageRow[] = [
    { type: "Images", count: images, size: blobBytes(imageBlobs), reclaimable: 0 },
    // every blob: the images' and the build cache's layers too, and those nothing needs
    { type: "Blobs", count: u.blobs.size, size: blobBytes(u.blobs.keys()), reclaimable: blobBytes(freed) },
    { type: "Build cache", count: u.records.length, size: blobBytes(recordBlobs) + sum(u.cacheFiles), reclaimable: blobBytes(recordBlobs, freed) + sum(plan.cacheFiles) },
    { type: "Snapshots", count: u.snapshots.length, size: sum(u.snapshots), reclaimable: sum(plan.snapshots) },
    { type: "Cache mounts", count: u.mounts.length, size: sum(u.mounts), reclaimable: sum(plan.mounts) },
    { type: "Leftovers", count: u.leftovers.length, size: sum(u.leftovers), reclaimable: sum(plan.leftovers) },
  ];
  // rows overlap (Blobs holds the images' and the cache's layers): the total counts each byte once
  const total = blobBytes(u.blobs.keys()) + sum(u.cacheFiles) + sum(u.snapshots) + sum(u.mounts) + sum(u.leftovers);
  return { rows, total, reclaimable: plan.reclaimable, running: u.sessions.length };
}
