/**
 * prune(): removes build cache and garbage-collects blobs, safely while builds run.
 *
 * The whole removal runs holding the store's gc lock (@tsbuild/oci store-sessions.ts): no build
 * registers or holds anything meanwhile, and whatever running builds registered before is kept
 * (their held snapshots and blobs, every blob written since they started, their scratch dirs,
 * active snapshots and cache mounts). Builds that start during a prune wait for it.
 */
import { rm } from "node:fs/promises";
import { defaultStoreRoot, liveSessions, Store } from "@tsbuild/oci";
import { removeCommitted, removeDebris, unmountUnder } from "@tsbuild/snapshot";
import { LocalCache } from "../cache/build-cache.js";
import { analyzeStore, snapshotsRoot } from "./store-usage.js";
import { planPrune, type PrunePolicy } from "./prune-plan.js";
import { sweepDeadBuilds, sweepTotal } from "./dead-builds.js";
import { requireBuildPrivileges } from "../rootless.js";

export interface PruneOptions extends PrunePolicy {
  /** the store (default: TSBUILD_ROOT or /var/lib/tsbuild) */
  root?: string;
}

export interface PruneReport {
  records: number;
  snapshots: number;
  mounts: number;
  leftovers: number;
  blobs: number;
  /** bytes freed */
  reclaimed: number;
  /** what was kept and why (e.g. cache mounts while builds run) */
  notes: string[];
}

export async function prune(opts: PruneOptions = {}): Promise<PruneReport> {
  // a rootless store holds files of subordinate ids: only root of its user namespace removes them
  requireBuildPrivileges("prune()");
  const store = await Store.open(opts.root ?? defaultStoreRoot());
  const cache = new LocalCache(store);
  // dead builds' containers are killed, their mounts and stamped leftovers removed (dead-builds.ts)
  const sweptCount = sweepTotal(await sweepDeadBuilds(store));
  return store.withGcLock(async () => {
    await liveSessions(store.root, true); // forget sessions of dead processes
    const plan = planPrune(await analyzeStore(store, cache), opts);
    for (const r of plan.records) await cache.remove(r.key);
    for (const id of plan.leases) await store.removeLease(id);
    for (const s of plan.snapshots) await removeCommitted(snapshotsRoot(store), s);
    for (const m of plan.mounts) {
      await unmountUnder(m.path);
      await rm(m.path, { recursive: true, force: true });
    }
    for (const l of plan.leftovers) {
      if (l.snapshotDebris) await removeDebris(l.snapshotDebris);
      else {
        await unmountUnder(l.path);
        await rm(l.path, { recursive: true, force: true });
      }
    }
    for (const f of plan.cacheFiles) await rm(f.path, { force: true });
    const blobs = await store.gc({ keep: plan.keepBlobs, ...(plan.keepWrittenSince !== undefined ? { keepWrittenSince: plan.keepWrittenSince } : {}) });
    const sum = (xs: { size: number }[]) => xs.reduce((a, x) => a + x.size, 0);
    return {
      records: plan.records.length, snapshots: plan.snapshots.length, mounts: plan.mounts.length, leftovers: plan.leftovers.length + sweptCount, blobs: blobs.length,
      reclaimed: sum(plan.snapshots) + sum(plan.mounts) + sum(plan.leftovers) + sum(plan.cacheFiles) + sum(blobs), notes: plan.notes,
    };
  });
}
