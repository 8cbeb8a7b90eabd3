/**
 * A --link step (COPY/ADD --link), as BuildKit runs one: dockerfile2llb copies onto scratch and
 * puts the result on the stage with llb.Merge. Here the change runs on an empty snapshot, its diff
 * is stored as a layer, and that snapshot is merged on the stage's (link-layer.ts: its directory
 * one more layer of the stage's chain where the snapshotter can merge, else the layer applied), so
 * later steps see it. The layer does not depend on what is below it, and neither does its key:
 * it is made on LINK_PARENT instead of the stage's key. A build whose base image or earlier steps
 * changed meets the same record and applies the same layer blob without running the change again
 * (the image is rebased: the blob sits on the new layers). The stage's key after the step is
 * `mergedKey(before, key)`: what follows depends on both, as BuildKit's merge does.
 */
import { randomBytes } from "node:crypto";
import type { StoredLayer } from "@tsbuild/oci";
import type { SolverEnv, StageState } from "../solver/state.js";
import { addHistory } from "./history.js";
import { lookupStep, stepKey, type StepInputs } from "./step-cache.js";
import { advance, recordStep, storeDiff, takeHit, type FsStepResult } from "./fs-step.js";
import { chainName } from "./snapshot-chain.js";
import { holdSnapshots } from "./store-guard.js";
import { clampTimes } from "./clamp-times.js";
import { mergeOnto, ownSnapshot } from "./link-layer.js";
import { phaseClock, timePhase } from "./phases.js";

/** What every --link step's key is made on, in place of the stage's key (keyOf adds the platform and SOURCE_DATE_EPOCH). */
export const LINK_PARENT = stepKey("link");

/** The stage's key after a --link step with key `link` on a stage whose key was `before`. */
export function mergedKey(before: string, link: string): string {
  return stepKey("merge", before, link);
}

/**
 * Runs `change` on an empty root unless the cache has the step (looked up without the steps before
 * it), and puts its layer on the stage. `inputs` undefined: never cached.
 * Returns the key of the step's own record; the stage's key becomes the merged one.
 */
export async function linkStep(
  env: SolverEnv, st: StageState, createdBy: string, change: (root: string) => Promise<void>, inputs?: StepInputs,
): Promise<FsStepResult> {
  const before = st.key;
  const { key, hit, explain } = await lookupStep(env, st, createdBy, inputs, LINK_PARENT);
  let result: FsStepResult;
  if (hit) {
    await takeHit(env, st, createdBy, hit, mergeOnto);
    result = { ...(hit.layer ? { layer: hit.layer.diffId } : {}), cached: true, key };
  } else {
    const layer = await runLinked(env, st, createdBy, change);
    if (inputs !== undefined) recordStep(env, st, key, createdBy, inputs, layer !== undefined, { parent: LINK_PARENT });
    result = { ...(layer ? { layer } : {}), cached: false, key, ...(explain ? { explain } : {}) };
  }
  st.key = mergedKey(before, key);
  // a step after this one that misses because a step before this one was rebuilt says so
  const rebuilt = env.missed.get(before);
  if (rebuilt) env.missed.set(st.key, rebuilt);
  return result;
}

/**
 * The change on an empty snapshot and its diff stored; the snapshot is kept as the layer's own
 * (committed under its diff id, its times clamped as the layer's are) where it is the stage's or
 * can be merged on it, and the layer goes on the stage's snapshot (link-layer.ts). Its diff id
 * (none when empty).
 */
async function runLinked(env: SolverEnv, st: StageState, createdBy: string, change: (root: string) => Promise<void>): Promise<string | undefined> {
  const key = `link-${randomBytes(8).toString("hex")}`;
  const active = await timePhase(st, "mount", () => env.snapshotter.prepare(key));
  const merge = env.snapshotter.merge;
  // on an empty stage the copy is the stage's snapshot; elsewhere it is kept to be merged, or dropped once its layer is stored
  const keep = st.snapshot === undefined || merge !== undefined;
  const epoch = env.epoch;
  let layer: StoredLayer | undefined;
  try {
    await env.limiter.use(() => timePhase(st, "change", () => change(active.root)));
    layer = await storeDiff(env, key, keep && epoch !== undefined ? (entries) => clampTimes(entries, active.root, epoch) : undefined, phaseClock(st));
  } catch (e) {
    await env.snapshotter.remove(key).catch(() => undefined);
    throw e;
  }
  if (!layer) {
    addHistory(env, st, createdBy, true);
    return undefined;
  }
  const own = ownSnapshot(layer.diffId);
  await holdSnapshots(env, [chainName(st.snapshot, layer.diffId), ...(keep && st.snapshot !== undefined ? [own] : [])]);
  if (keep) {
    // its changes are its layer (their diff): committed as a whole layer, when the snapshotter sees
    // nothing the diff could not carry (merge.ts); first wins, as every commit
    const commit = timePhase(st, "commit", () => merge ? merge.commitLayer(own, key) : env.snapshotter.commit(own, key));
    await commit.catch(async (e: unknown) => {
      await env.snapshotter.remove(key).catch(() => undefined);
      throw e;
    });
  } else {
    await env.snapshotter.remove(key);
  }
  const { digest } = layer.descriptor;
  const source = {
    digest, diffId: layer.diffId, of: "a --link step", remedy: "build again (run tsbuild store check if it fails again)",
    open: () => env.store.content.reader(digest),
  };
  advance(env, st, createdBy, layer, await timePhase(st, "commit", () => mergeOnto(env, st.snapshot, layer, source)));
  return layer.diffId;
}
