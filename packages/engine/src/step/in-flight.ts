/**
 * Steps in flight, by cache key, for one build (every platform of a multi-platform build shares
 * them): when two stages reach a step of the same key at once — a FROM --platform=$BUILDPLATFORM
 * stage solved for each target — the first runs it and the others wait for the record it leaves and
 * take it as a hit, as BuildKit's solver runs one vertex for equal digests. A run that fails or leaves
 * no record lets a waiter run the step itself.
 */
import type { CacheRecord } from "../cache/build-cache.js";
import type { StageState } from "../solver/state.js";

/** The right to run a step: settle it with the record the step left (undefined: none, the waiters run it). */
export interface StepClaim {
  settle(record?: CacheRecord): void;
}

export type ClaimOrWait = { claim: StepClaim } | { wait: Promise<CacheRecord | undefined> };

export class InFlightSteps {
  /** runs in flight, and runs done with the record they left (kept for the build: a stage that missed just before one settled still takes its record) */
  private readonly running = new Map<string, Promise<CacheRecord | undefined>>();

  /** Claims `key` for the caller, or, when another stage runs it now, the record that run will leave. */
  claim(key: string): ClaimOrWait {
    const other = this.running.get(key);
    if (other) return { wait: other };
    let resolve!: (r: CacheRecord | undefined) => void;
    const done = new Promise<CacheRecord | undefined>((r) => (resolve = r));
    this.running.set(key, done);
    let settled = false;
    return {
      claim: {
        settle: (record) => {
          if (settled) return;
          settled = true;
          if (!record && this.running.get(key) === done) this.running.delete(key);
          resolve(record);
        },
      },
    };
  }
}

/** Settles the stage's claim with the record its step left (the claim is the step's, `key`); without a record, lets the waiters run it. */
export function settleClaim(st: Pick<StageState, "claim" | "claimKey">, key?: string, record?: CacheRecord): void {
  if (!st.claim) return;
  if (key !== undefined && st.claimKey !== key) return;
  st.claim.settle(record);
  delete st.claim;
  delete st.claimKey;
}
