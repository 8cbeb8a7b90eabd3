/**
 * A monotonic clock in ms (fractional), for timings: process.hrtime, not the `performance` global,
 * whose first use loads perf_hooks (~1 ms at start-up for a build that times a few phases).
 */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}
