// Medians of repeated runs, the ratio a fixture is judged on (tsbuild ÷ another builder; for a
// fixture whose commands take a fixed time, the ratio of the times above it), geometric means.

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const geomean = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);

// an overhead at or under this (noise around the fixed time) counts as this, so a ratio stays finite
const MIN_OVERHEAD = 0.01;

/** { ratio, overhead? } of tsbuild's median against other's, or undefined when one is missing. */
export function judged(ts, other, fixed = 0) {
  if (ts === undefined || other === undefined || !(other > 0)) return undefined;
  if (!fixed) return { ratio: ts / other };
  const over = (t) => Math.max(t - fixed, MIN_OVERHEAD);
  return { ratio: over(ts) / over(other), plain: ts / other, overhead: [ts - fixed, other - fixed] };
}
