/**
 * A step that changes the file system (RUN, COPY, ADD, WORKDIR): a writable snapshot on the
 * current one, the change, then its diff as a layer in the store; an empty diff adds no layer (as
 * BuildKit drops empty layers). The snapshot is removed on failure.
 */
import { createHash, randomBytes } from "node:crypto";
import { storeLayer, type LayerEntry } from "@tsbuild/oci";
import type { SolverEnv, StageState } from "./build-context-types.js";
import { BUILDKIT_COMMENT } from "./history.js";

export function chainName(parent: string | undefined, diffId: string): string {
  return parent === undefined ? diffId : `sha256:${createHash("sha256").update(`${parent} ${diffId}`).digest("hex")}`;
}

function created(env: SolverEnv): string {
  return new Date(env.epoch !== undefined ? env.epoch * 1000 : Date.now()).toISOString();
}

export function addHistory(env: SolverEnv, st: StageState, createdBy: string, emptyLayer: boolean, comment = BUILDKIT_COMMENT): void {
  st.image.history.push({ created: created(env), created_by: createdBy, comment, ...(emptyLayer ? { empty_layer: true } : {}) });
}

export async function fsStep(env: SolverEnv, st: StageState, createdBy: string, change: (root: string) => Promise<void>): Promise<{ layer?: string }> {
  const key = `step-${randomBytes(8).toString("hex")}`;
  const active = await env.snapshotter.prepare(key, st.snapshot);
  try {
    await env.limiter.use(() => change(active.root));
    let count = 0;
    const counted = async function* (src: AsyncIterable<LayerEntry>) {
      for await (const e of src) {
        count++;
        yield e;
      }
    };
    const layer = await storeLayer(env.store.content, counted(env.snapshotter.diff(key)), {
      compression: "none",
      ...(env.epoch !== undefined ? { sourceDateEpoch: env.epoch } : {}),
    });
    if (count === 0) {
      await env.snapshotter.remove(key);
      addHistory(env, st, createdBy, true);
      return {};
    }
    const name = chainName(st.snapshot, layer.diffId);
    if (await env.snapshotter.exists(name)) await env.snapshotter.remove(key);
    else await env.snapshotter.commit(name, key);
    st.snapshot = name;
    st.layers.push({ descriptor: layer.descriptor, diffId: layer.diffId });
    addHistory(env, st, createdBy, false);
    return { layer: layer.diffId };
  } catch (e) {
    await env.snapshotter.remove(key).catch(() => undefined);
    throw e;
  }
}
