/**
 * Cache keys and lookups for every step (DESIGN.md, cache keys): a step's key is a sha256 over its
 * parent's key, the instruction as it runs (its history text), the platform and its named inputs
 * (args, files, env, user, …). Every step leaves a record under that key, metadata steps too, so
 * `cached` in the step records is true exactly when an earlier build made the same step, and
 * `--explain` can compare a miss with the records before it.
 */
import { createHash } from "node:crypto";
import { formatPlatform } from "@tsbuild/dockerfile";
import type { SolverEnv, StageState } from "../solver/state.js";
import type { CacheRecord } from "../cache/build-cache.js";
import { holdHit } from "./store-guard.js";
import { settleClaim } from "./in-flight.js";
import { stageLabel } from "../solver/stage-label.js";

/** Named inputs of a step's key besides its parent and instruction, in a fixed order. */
export type StepInputs = Record<string, string>;

export function stepKey(...parts: string[]): string {
  return `sha256:${createHash("sha256").update(parts.join("\u0000")).digest("hex")}`;
}

/** With SOURCE_DATE_EPOCH the layers' times are clamped: a layer made without it (or with another) is another layer. */
export function keyOf(env: SolverEnv, st: Pick<StageState, "platform">, parent: string, createdBy: string, inputs: StepInputs): string {
  const epoch = env.epoch !== undefined ? [`epoch=${env.epoch}`] : [];
  return stepKey(parent, createdBy, formatPlatform(st.platform), ...Object.entries(inputs).map(([k, v]) => `${k}=${v}`), ...epoch);
}

export interface Lookup {
  key: string;
  hit?: CacheRecord;
  /** the cache is not to be used for this step (--no-cache, --no-cache-filter): no hit, no shortcut from earlier runs */
  disabled?: boolean;
  /** why the step missed, when the build explains misses */
  explain?: string;
}

function cacheDisabled(env: SolverEnv, st: StageState): string | undefined {
  if (env.noCache) return "--no-cache";
  const stage = stageLabel(st.stage);
  return env.noCacheStages.has(stage) ? `--no-cache-filter ${stage}` : undefined;
}

/**
 * Looks a step up. `inputs` undefined means the step is never cached: it gets a key
 * of its own that no later build can meet. `parent` is what the key is made on: the stage's key, or
 * LINK_PARENT for a --link step, whose layer does not depend on the steps before it (link-step.ts).
 */
export async function lookupStep(env: SolverEnv, st: StageState, createdBy: string, inputs: StepInputs | undefined, parent = st.key): Promise<Lookup> {
  if (inputs === undefined) {
    const key = stepKey(parent, createdBy, String(Date.now()), String(Math.random()));
    return { key, ...(env.explainer ? { explain: `${st.current?.instruction ?? createdBy}: this step is never cached` } : {}) };
  }
  const key = keyOf(env, st, parent, createdBy, inputs);
  const disabled = cacheDisabled(env, st);
  const hit = disabled ? undefined : await holdHit(env, await env.cache.get(key), { parent: st.snapshot });
  if (hit) return { key, hit };
  // another stage of this build (another platform's) running the same step now: its record is the
  // hit (with --no-cache too: it is this build's own result, not an earlier build's); else the step
  // is claimed for this stage until it leaves its record (recordStep, or the solver's metadata step)
  const shared = await sharedRun(env, st, key);
  if (shared) return { key, hit: shared };
  if (!env.explainer) return { key, ...(disabled ? { disabled: true } : {}) };
  const draft = draftRecord(st, key, createdBy, inputs, parent);
  return { key, ...(disabled ? { disabled: true } : {}), explain: disabled ? `${draft.instruction}: cache disabled by ${disabled}` : await env.explainer.explain(draft, env.missed) };
}

/**
 * The record of another stage's run of `key` once it is done, or undefined with the step claimed for
 * `st` (`st.claim`; or not claimed, when that run left nothing this stage can take: it then runs the
 * step itself).
 */
async function sharedRun(env: SolverEnv, st: StageState, key: string): Promise<CacheRecord | undefined> {
  settleClaim(st);
  const c = env.inflight.claim(key);
  if ("claim" in c) {
    st.claim = c.claim;
    st.claimKey = key;
    return undefined;
  }
  const record = await c.wait;
  return record ? holdHit(env, record, { parent: st.snapshot }) : undefined;
}

/** The record a step will leave (layer and time filled in once it ran). */
export function draftRecord(st: StageState, key: string, createdBy: string, inputs: StepInputs, parent = st.key): CacheRecord {
  return {
    key, parent, base: st.base, inputs: { instruction: createdBy, ...inputs }, stage: stageLabel(st.stage),
    instruction: st.current?.instruction ?? createdBy, position: st.current?.position ?? "", createdBy, created: "",
  };
}
