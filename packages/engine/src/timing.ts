/** The build-wide phases' `timing` events (events.ts `BuildPhase`): one when each is done, with its time. */
import type { BuildPhase, EventSink } from "./events.js";
import { monotonicMs } from "./clock.js";

/** Runs `fn` and says how long it took as `phase` (also when it fails: the time was spent). */
export async function timed<T>(emit: EventSink | undefined, phase: BuildPhase, fn: () => Promise<T> | T, stage?: string): Promise<T> {
  if (!emit) return fn();
  const t0 = monotonicMs();
  try {
    return await fn();
  } finally {
    emit({ type: "timing", phase, ms: Math.round((monotonicMs() - t0) * 10) / 10, ...(stage !== undefined ? { stage } : {}) });
  }
}
