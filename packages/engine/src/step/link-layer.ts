/**
 * Where a --link step's layer goes on the stage (link-step.ts), as BuildKit merges it. The layer
 * was made on an empty tree, and its own snapshot — committed on no parent under its diff id, as
 * an unpacked single layer is — holds it whole. A snapshotter that can merge (MergeSnapshots: the
 * overlay one) puts that snapshot's directory on the stage's chain as one more layer: nothing is
 * copied or applied, and a rebased stage (a new base, an earlier step changed) shares the same
 * directory. A cache hit whose layer has no snapshot of its own yet (a record from another store,
 * or a pruned one) has it unpacked from the blob once, on no parent, and shared from then on.
 *
 * Otherwise — no merge capability (the copy snapshotter), a layer that deletes something (what it
 * deletes would leave no trace on an empty tree), a hard link to a file below it, or the same
 * directory already in the stage's chain (overlayfs mounts a directory once) — the layer is
 * applied to the stage's snapshot (unpack.ts), as a cached layer always is.
 */
import { UnsafeLayerError } from "@tsbuild/oci";
import { unpackLayer, type LayerSource, type Snapshotter } from "@tsbuild/snapshot";
import type { SolverEnv } from "../solver/state.js";
import type { PlaceLayer } from "./fs-step.js";
import { chainName } from "./snapshot-chain.js";
import { holdSnapshots } from "./store-guard.js";

/** Unpacks of a layer's own snapshot in flight, by snapshotter (two stages of a build hitting the same layer unpack it once). */
const inFlight = new WeakMap<Snapshotter, Map<string, Promise<boolean>>>();

/** The name of a layer's own snapshot: its chain id on no parent, its diff id. */
export function ownSnapshot(diffId: string): string {
  return chainName(undefined, diffId);
}

/**
 * The snapshot of `layer` on `parent` (that name held by the caller): there already, merged from
 * the layer's own snapshot, or applied to `parent`.
 */
export const mergeOnto: PlaceLayer = async (env, parent, layer, source) => {
  const name = chainName(parent, layer.diffId);
  if (await env.snapshotter.exists(name)) return name;
  const merge = env.snapshotter.merge;
  if (merge && parent !== undefined) {
    const own = ownSnapshot(layer.diffId);
    await holdSnapshots(env, [own]); // before it is looked at: kept from a concurrent prune, or seen gone
    if ((await ownLayer(env, own, source)) && (await merge.commitMerged(name, parent, own))) return name;
  }
  await unpackLayer(env.snapshotter, name, parent, source);
  return name;
};

/** Whether the layer's own snapshot is in the store, unpacked from the blob when it is not (false: it cannot be, see above). */
async function ownLayer(env: SolverEnv, own: string, source: LayerSource): Promise<boolean> {
  if (await env.snapshotter.exists(own)) return true;
  const unpacking = inFlight.get(env.snapshotter) ?? new Map<string, Promise<boolean>>();
  inFlight.set(env.snapshotter, unpacking);
  let p = unpacking.get(own);
  if (!p) {
    // unpack.ts commits it as a whole layer (MergeSnapshots.commitLayer) when it deletes nothing
    p = unpackLayer(env.snapshotter, own, undefined, source).then(
      () => true,
      (e: unknown) => {
        // a hard link to a file below it (not a layer tsbuild makes): applied to the stage instead
        if (e instanceof UnsafeLayerError) return false;
        throw e;
      },
    ).finally(() => unpacking.delete(own));
    unpacking.set(own, p);
  }
  return p;
}
