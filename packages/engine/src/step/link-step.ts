/**
 * A --link step (COPY/ADD --link), as BuildKit runs one: dockerfile2llb copies onto scratch and
 * puts the result on the stage with llb.Merge. Here the change runs on an empty snapshot, its diff
 * is stored as a layer, and that layer is applied to the stage's snapshot (as a cached layer is),
 * so later steps see it. The layer does not depend on what is below it, and neither does its key:
 * it is made on LINK_PARENT instead of the stage's key. A build whose base image or earlier steps
 * changed meets the same record and applies the same layer blob without running the change again
 * (the image is rebased: the blob sits on the new layers). The stage's key after the step is
 * `mergedKey(before, key)`: what follows depends on both, as BuildKit's merge does.
 */
import { randomBytes } from "node:crypto";
import { unpackLayer } from "@tsbuild/snapshot";
import type { StoredLayer } from "@tsbuild/oci";
import type { SolverEnv, StageState } from "../solver/state.js";
import { addHistory } from "./history.js";
import { lookupStep, stepKey, type StepInputs } from "./step-cache.js";
import { advance, recordStep, storeDiff, takeHit, type FsStepResult } from "./fs-step.js";
import { chainName } from "./snapshot-chain.js";
import { holdSnapshots } from "./store-guard.js";

/** What every --link step's key is made on, in place of the stage's key (keyOf adds the platform and SOURCE_DATE_EPOCH). */
export const LINK_PARENT = stepKey("link");

/** The stage's key after a --link step with key `link` on a stage whose key was `before`. */
export function mergedKey(before: string, link: string): string {
  return stepKey("merge", before, link);
}

/**
 * Runs `change` on an empty root unless the cache has the step (looked up without the steps before
 * it), and puts its layer on the stage. `inputs` undefined: never cached (ADD --link of a URL).
 * Returns the key of the step's own record; the stage's key becomes the merged one.
 */
export async function linkStep(
  env: SolverEnv, st: StageState, createdBy: string, change: (root: string) => Promise<void>, inputs?: StepInputs,
): Promise<FsStepResult> {
  const before = st.key;
  const { key, hit, explain } = await lookupStep(env, st, createdBy, inputs, LINK_PARENT);
  let result: FsStepResult;
  if (hit) {
    await takeHit(env, st, createdBy, hit);
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

/** The change on an empty snapshot, its diff stored, the layer applied to the stage's snapshot; the layer's diff id (none when empty). */
async function runLinked(env: SolverEnv, st: StageState, createdBy: string, change: (root: string) => Promise<void>): Promise<string | undefined> {
  const key = `link-${randomBytes(8).toString("hex")}`;
  const active = await env.snapshotter.prepare(key);
  let layer: StoredLayer | undefined;
  try {
    await env.limiter.use(() => change(active.root));
    layer = await storeDiff(env, key);
  } catch (e) {
    await env.snapshotter.remove(key).catch(() => undefined);
    throw e;
  }
  if (!layer) {
    addHistory(env, st, createdBy, true);
    return undefined;
  }
  const name = chainName(st.snapshot, layer.diffId);
  await holdSnapshots(env, [name]);
  if (st.snapshot === undefined) {
    // on an empty stage the copy is the stage's snapshot (first wins, as every commit)
    await env.snapshotter.commit(name, key).catch(async (e: unknown) => {
      await env.snapshotter.remove(key).catch(() => undefined);
      throw e;
    });
  } else {
    await env.snapshotter.remove(key);
    if (!(await env.snapshotter.exists(name))) {
      const { digest } = layer.descriptor;
      const source = {
        digest, diffId: layer.diffId, of: "a --link step", remedy: "build again (run tsbuild store check if it fails again)",
        open: () => env.store.content.reader(digest),
      };
      await unpackLayer(env.snapshotter, name, st.snapshot, source);
    }
  }
  advance(env, st, createdBy, layer, name);
  return layer.diffId;
}
