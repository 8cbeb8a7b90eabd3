/**
 * Where a step's time went: the phases of a step that ran (not a cache hit), each measured where it
 * happens and given with its step-done event (`phases`). Phases are exclusive: a phase timed inside
 * another (runc inside the change) is taken out of the outer one, so they add up to at most the
 * step's duration (the rest is its cache lookup, key and bookkeeping). One clock per stage's step:
 * a stage runs one step at a time, so the stage's state names the step being timed.
 */
import type { StageState } from "../solver/state.js";
import { monotonicMs } from "../clock.js";

/**
 * mount: the step's writable snapshot made (overlay: mounted); change: the step's own work outside
 * a container (a COPY's copy, a WORKDIR, a RUN's mounts and bundle); runc: the RUN's container, from
 * create to delete; diff: the snapshot's changes walked; layer: the diff tarred, hashed and written
 * to the content store; commit: the snapshot committed under its chain name.
 */
export type StepPhase = "mount" | "change" | "runc" | "diff" | "layer" | "commit";
export const STEP_PHASES: readonly StepPhase[] = ["mount", "change", "runc", "diff", "layer", "commit"];

/** A step's phase times so far (ms, fractional). */
export class PhaseClock {
  readonly ms: Partial<Record<StepPhase, number>> = {};
  /** the sum of every phase recorded, for an outer phase to take its inner ones out */
  private recorded = 0;

  add(phase: StepPhase, ms: number): void {
    this.ms[phase] = (this.ms[phase] ?? 0) + ms;
    this.recorded += ms;
  }

  async time<T>(phase: StepPhase, fn: () => Promise<T>): Promise<T> {
    const t0 = monotonicMs();
    const inner0 = this.recorded;
    try {
      return await fn();
    } finally {
      this.add(phase, Math.max(0, monotonicMs() - t0 - (this.recorded - inner0)));
    }
  }

  /** The phases recorded, rounded to 0.1 ms; undefined when none was (a cache hit, a metadata step). */
  result(): Partial<Record<StepPhase, number>> | undefined {
    const out: Partial<Record<StepPhase, number>> = {};
    let any = false;
    for (const p of STEP_PHASES) {
      const v = this.ms[p];
      if (v === undefined) continue;
      out[p] = Math.round(v * 10) / 10;
      any = true;
    }
    return any ? out : undefined;
  }
}

const clocks = new WeakMap<StageState, PhaseClock>();

/** Starts timing the stage's next step (the solver, before its handler). */
export function startPhases(st: StageState): PhaseClock {
  const c = new PhaseClock();
  clocks.set(st, c);
  return c;
}

/** Runs `fn` as `phase` of the stage's current step (just runs it when no step is being timed). */
export function timePhase<T>(st: StageState, phase: StepPhase, fn: () => Promise<T>): Promise<T> {
  const c = clocks.get(st);
  return c ? c.time(phase, fn) : fn();
}

/** The stage's current step's clock, for a phase measured piecewise (the diff, entry by entry). */
export function phaseClock(st: StageState): PhaseClock | undefined {
  return clocks.get(st);
}
