/**
 * A step that changes the file system (RUN, COPY, ADD, WORKDIR): a writable snapshot on the
 * current one, the change, then its diff as a layer in the store; an empty diff adds no layer (as
 * BuildKit drops empty layers). The snapshot is removed on failure.
 */
import { randomBytes } from "node:crypto";
import { chainName } from "./snapshot-chain.js";
import { storeLayer, type Descriptor, type Digest, type LayerEntry, type StoredLayer } from "@tsbuild/oci";
import type { LayerSource } from "@tsbuild/snapshot";
import type { SolverEnv, StageState } from "../solver/state.js";
import { addHistory, BUILDKIT_COMMENT, historyNow as now } from "./history.js";
import { draftRecord, lookupStep, type StepInputs } from "./step-cache.js";
import type { CacheRecord } from "../cache/build-cache.js";
import { holdSnapshots } from "./store-guard.js";
import { settleClaim } from "./in-flight.js";
import { unpackOnce } from "../image/base-image.js";
import type { Semaphore } from "./semaphore.js";
import { phaseClock, timePhase, type PhaseClock } from "./phases.js";
import { monotonicMs } from "../clock.js";

/** What to do when a cached step's layer is missing or corrupt. */
const CACHE_REMEDY = "run tsbuild store check, then build again (or build with --no-cache)";

export interface FsStepResult {
  layer?: string;
  cached: boolean;
  key: string;
  explain?: string;
  detail?: string;
}

/**
 * A faster way to the same result for a miss (incremental-copy.ts): the step's layer, already
 * stored, and its committed snapshot; undefined when it does not apply.
 */
export type Shortcut = () => Promise<{ layer: StoredLayer; snapshot: string; detail: string; committed?: Promise<void> } | undefined>;

/**
 * @param cacheInputs what else the step depends on beyond its created_by text (env, user, content
 *   digests…, named for --explain); undefined means the step is never cached.
 * @param shortcut a faster way to the same result for a miss, when the cache may be used
 * @param changeLimiter what bounds the change while it runs: the per-core limiter for tsbuild's own
 *   file work (default), env.runLimiter for a RUN container; the diff always takes the per-core one
 * @param unchanged on a miss, whether the change would certainly write nothing: then the step is
 *   the empty-layer step an empty diff makes (history entry, record), with no snapshot prepared
 */
export async function fsStep(
  env: SolverEnv, st: StageState, createdBy: string, change: (root: string) => Promise<void>, cacheInputs?: StepInputs, shortcut?: Shortcut,
  changeLimiter: Semaphore = env.limiter, unchanged?: () => Promise<boolean>,
): Promise<FsStepResult> {
  const { key, hit, explain, disabled } = await lookupStep(env, st, createdBy, cacheInputs);
  if (hit) {
    await takeHit(env, st, createdBy, hit);
    st.key = key;
    return { ...(hit.layer ? { layer: hit.layer.diffId } : {}), cached: true, key };
  }
  const short = shortcut && !disabled ? await env.limiter.use(() => timePhase(st, "change", shortcut)) : undefined;
  const result = short ? took(env, st, createdBy, short) : await runStep(env, st, createdBy, change, changeLimiter, unchanged);
  // written while the build goes on (after the shortcut's layer, when that is still being written)
  if (cacheInputs !== undefined) recordStep(env, st, key, createdBy, cacheInputs, result.layer !== undefined, { ...(short?.committed ? { after: short.committed } : {}) });
  st.key = key;
  return { ...result, cached: false, key, ...(explain ? { explain } : {}) };
}

/** Where a layer goes on a snapshot: the committed snapshot of the two, made when it is not in the store. */
export type PlaceLayer = (env: SolverEnv, parent: string | undefined, layer: { descriptor: Descriptor; diffId: Digest }, source: LayerSource) => Promise<string>;

/** The layer's snapshot on `parent` (held already), unpacked there from the layer blob when it is not in the store. */
export const unpackOnto: PlaceLayer = async (env, parent, layer, source) => {
  const name = chainName(parent, layer.diffId);
  // two platforms taking the same hit at once (a FROM --platform=$BUILDPLATFORM stage) unpack it once
  await unpackOnce(env, name, parent, source);
  return name;
};

/**
 * Moves the stage onto a cache hit: its layer (held already, lookupStep → holdHit) on the stage's
 * snapshot (`place`: unpacked there from the layer blob when that snapshot is not in the store),
 * and its history entry. The stage's key is the caller's to set.
 */
export async function takeHit(env: SolverEnv, st: StageState, createdBy: string, hit: CacheRecord, place: PlaceLayer = unpackOnto): Promise<void> {
  if (hit.layer) {
    const { digest } = hit.layer.descriptor;
    const source = { digest, diffId: hit.layer.diffId, of: "the build cache", remedy: CACHE_REMEDY, open: () => env.store.content.reader(digest) };
    const name = await place(env, st.snapshot, hit.layer, source);
    st.snapshot = name;
    st.layers.push({ descriptor: hit.layer.descriptor, diffId: hit.layer.diffId });
    st.lastCreated = hit.created;
  }
  addHistory(env, st, createdBy, !hit.layer, BUILDKIT_COMMENT, hit.created);
}

/**
 * Leaves the record of a step that ran (its layer, when it made one, is the stage's last), written
 * in the background after `after` (a layer still being written). `parent` is what its key was made
 * on: the stage's key, or LINK_PARENT for a --link step (link-step.ts).
 */
export function recordStep(
  env: SolverEnv, st: StageState, key: string, createdBy: string, inputs: StepInputs, madeLayer: boolean, opts: { after?: Promise<void>; parent?: string } = {},
): void {
  const rec = st.image.history[st.image.history.length - 1];
  const record = {
    ...draftRecord(st, key, createdBy, inputs, opts.parent), created: rec?.created ?? now(env),
    ...(madeLayer ? { layer: st.layers[st.layers.length - 1] as { descriptor: Descriptor; diffId: Digest } } : {}),
  };
  env.pendingWrites.push(env.cache.putLater(record, opts.after));
  // a stage of another platform waiting for this step takes the record (in-flight.ts)
  settleClaim(st, key, record);
}

/**
 * The diff of active snapshot `key` (against its parent) as a layer in the content store: the diff,
 * tar and hash are tsbuild's own CPU work, bounded by cores. Undefined when nothing changed (the
 * snapshot is then removed: an empty diff adds no layer). `through`: what the entries go through
 * on their way (clamp-times.ts). `clock`: the step's phases, to which the walk of the diff goes as
 * `diff` and the rest (tar, hash, write) as `layer`.
 */
export async function storeDiff(
  env: SolverEnv, key: string, through: (entries: AsyncIterable<LayerEntry>) => AsyncIterable<LayerEntry> = (entries) => entries, clock?: PhaseClock,
): Promise<StoredLayer | undefined> {
  let count = 0;
  const counted = async function* (src: AsyncIterable<LayerEntry>) {
    for await (const e of src) {
      count++;
      yield e;
    }
  };
  let diffMs = 0;
  const walked = clock ? timedWalk(env.snapshotter.diff(key), (ms) => (diffMs += ms)) : env.snapshotter.diff(key);
  const layer = await env.limiter.use(async () => {
    const t0 = monotonicMs();
    try {
      return await storeLayer(env.store.content, counted(through(walked)), {
        compression: "none",
        ...(env.epoch !== undefined ? { sourceDateEpoch: env.epoch } : {}),
      });
    } finally {
      clock?.add("diff", diffMs);
      clock?.add("layer", Math.max(0, monotonicMs() - t0 - diffMs));
    }
  });
  if (count > 0) return layer;
  await env.snapshotter.remove(key);
  return undefined;
}

/** The entries of `src`, with the time spent getting each (the diff's own work) given to `took`. */
async function* timedWalk<T>(src: AsyncIterable<T>, took: (ms: number) => void): AsyncIterable<T> {
  const it = src[Symbol.asyncIterator]();
  try {
    for (;;) {
      const t0 = monotonicMs();
      const r = await it.next();
      took(monotonicMs() - t0);
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

/** Moves the stage onto a new layer whose snapshot `name` is committed, with its history entry. */
export function advance(env: SolverEnv, st: StageState, createdBy: string, layer: StoredLayer, name: string): void {
  const created = now(env);
  st.snapshot = name;
  st.layers.push({ descriptor: layer.descriptor, diffId: layer.diffId });
  st.lastCreated = created;
  addHistory(env, st, createdBy, false, BUILDKIT_COMMENT, created);
}

/** The state after a shortcut made the step's layer and snapshot. */
function took(env: SolverEnv, st: StageState, createdBy: string, r: NonNullable<Awaited<ReturnType<Shortcut>>>): { layer: string; detail: string } {
  advance(env, st, createdBy, r.layer, r.snapshot);
  return { layer: r.layer.diffId, detail: r.detail };
}

async function runStep(
  env: SolverEnv, st: StageState, createdBy: string, change: (root: string) => Promise<void>, changeLimiter: Semaphore, unchanged?: () => Promise<boolean>,
): Promise<{ layer?: string; detail?: string }> {
  if (unchanged && (await unchanged())) {
    // what an empty diff gives, without a snapshot mounted and removed
    addHistory(env, st, createdBy, true);
    return {};
  }
  const key = `step-${randomBytes(8).toString("hex")}`;
  const active = await timePhase(st, "mount", () => env.snapshotter.prepare(key, st.snapshot));
  try {
    await changeLimiter.use(() => timePhase(st, "change", () => change(active.root)));
    const layer = await storeDiff(env, key, undefined, phaseClock(st));
    if (!layer) {
      addHistory(env, st, createdBy, true);
      return {};
    }
    const name = chainName(st.snapshot, layer.diffId);
    await timePhase(st, "commit", async () => {
      await holdSnapshots(env, [name]);
      // commits are first-wins: when another build committed the same snapshot, ours is discarded
      await env.snapshotter.commit(name, key);
    });
    advance(env, st, createdBy, layer, name);
    return { layer: layer.diffId };
  } catch (e) {
    await env.snapshotter.remove(key).catch(() => undefined);
    throw e;
  }
}
