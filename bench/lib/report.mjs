// The result table (fixture, phase, seconds per builder, tsbuild/BuildKit ratio), the goals checked
// against it, and a breakdown of a tsbuild build from its --progress=json events.

const PHASES = ["cold", "warm", "change"];
const cell = (v) => (v === undefined ? "-" : v.toFixed(2));

/** results: Map fixture → Map phase → { builderName: best seconds } */
export function table(results, builderNames) {
  const head = ["fixture", "phase", ...builderNames.map((n) => `${n} s`), "tsbuild/BuildKit"];
  const rows = [];
  for (const [fixture, phases] of results) {
    for (const phase of PHASES) {
      const r = phases.get(phase);
      if (!r) continue;
      const ratio = r.tsbuild !== undefined && r.BuildKit ? (r.tsbuild / r.BuildKit).toFixed(2) : "-";
      rows.push([fixture, phase, ...builderNames.map((n) => cell(r[n])), ratio]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => "| " + r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") + " |";
  return [line(head), "|" + widths.map((w, i) => (i < 2 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|", ...rows.map(line)].join("\n");
}

/** The goals, each with pass/fail where the figures exist. */
export function goals(results) {
  const out = [];
  const check = (label, ok, detail) => out.push(`${ok ? "PASS" : "MISS"}  ${label}: ${detail}`);
  for (const [fixture, phases] of results) {
    const warm = phases.get("warm"), cold = phases.get("cold");
    if (warm?.tsbuild !== undefined && warm.BuildKit) check(`${fixture} no-op rebuild <= 0.5 x BuildKit`, warm.tsbuild <= 0.5 * warm.BuildKit, `${(warm.tsbuild / warm.BuildKit).toFixed(2)}`);
    if (cold?.tsbuild !== undefined && cold.BuildKit) check(`${fixture} cold <= 0.8 x BuildKit`, cold.tsbuild <= 0.8 * cold.BuildKit, `${(cold.tsbuild / cold.BuildKit).toFixed(2)}`);
  }
  const ctx = results.get("context-20k")?.get("change")?.tsbuild;
  if (ctx !== undefined) check("context-20k rebuilt after a one-file change < 1 s", ctx < 1, `${ctx.toFixed(2)} s`);
  return out.join("\n");
}

/** Where a tsbuild build's time went: start-up until the first event, each step, export, exit. */
export function breakdown(lines, seconds) {
  if (!lines.length) return "  (no events)";
  const starts = new Map();
  const parts = [`  start-up until the first event ${lines[0].ms.toFixed(0)} ms`];
  for (const { ms, event } of lines) {
    if (event.type === "step-start") starts.set(event.id, { ms, text: `[${event.stage}] ${event.instruction}` });
    if (event.type === "step-done") {
      const s = starts.get(event.id);
      parts.push(`  ${String(event.durationMs).padStart(6)} ms ${event.cached ? "cached" : "ran   "} ${s ? s.text.slice(0, 90) : event.id}`);
    }
  }
  const lastDone = [...lines].reverse().find((l) => l.event.type === "step-done");
  const exported = lines.find((l) => l.event.type === "exported");
  if (lastDone && exported) parts.push(`  last step done → exported ${(exported.ms - lastDone.ms).toFixed(0)} ms`);
  const last = lines[lines.length - 1];
  parts.push(`  last event → exit ${(seconds * 1000 - last.ms).toFixed(0)} ms (total ${(seconds * 1000).toFixed(0)} ms)`);
  return parts.join("\n");
}
