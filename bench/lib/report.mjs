// The result table (fixture, phase, median seconds per builder, tsbuild ÷ each other builder, for a
// fixture with a fixed command time the ratio of the times above it too), the geometric mean of the
// ratios per phase, the issue's goals checked against them, where tsbuild's time went by step kind,
// and a breakdown of one tsbuild build from its --progress=json events.
import { BUILD_PARTS, COLUMNS, RAN_KINDS, STEP_PARTS, stepKinds, stepParts } from "./profile.mjs";
import { geomean, judged, median } from "./stats.mjs";

export const PHASES = ["cold", "warm", "change"];
const cell = (v) => (v === undefined ? "-" : v.toFixed(2));

/** results: Map fixture → { fixed?, phases: Map phase → Map builderName → [{ seconds, profile? }] } */
const med = (results, fixture, phase, builder) => {
  const samples = results.get(fixture)?.phases.get(phase)?.get(builder);
  return samples?.length ? median(samples.map((s) => s.seconds)) : undefined;
};

/** The ratio each fixture is judged on in each phase against OTHER: Map fixture → Map phase → judged. */
function ratios(results, other) {
  const out = new Map();
  for (const [fixture, r] of results) {
    const per = new Map();
    for (const phase of PHASES) {
      const j = judged(med(results, fixture, phase, "tsbuild"), med(results, fixture, phase, other), r.fixed?.[phase]);
      if (j) per.set(phase, j);
    }
    out.set(fixture, per);
  }
  return out;
}

function render(head, rows, leftColumns = 2) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => "| " + r.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") + " |";
  return [line(head), "|" + widths.map((w, i) => (i < leftColumns ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|", ...rows.map(line)].join("\n");
}

export function table(results, builderNames) {
  const others = builderNames.filter((n) => n !== "tsbuild");
  const judgedBy = new Map(others.map((o) => [o, ratios(results, o)]));
  const head = ["fixture", "phase", "runs", ...builderNames.map((n) => `${n} s`), ...others.map((o) => `tsbuild/${o}`), "fixed s", ...others.map((o) => `overhead/${o}`)];
  const rows = [];
  for (const [fixture, r] of results) {
    for (const phase of PHASES) {
      const samples = r.phases.get(phase);
      if (!samples) continue;
      const runs = Math.max(0, ...[...samples.values()].map((s) => s.length));
      const fixed = r.fixed?.[phase];
      const plain = others.map((o) => {
        const t = med(results, fixture, phase, "tsbuild"), b = med(results, fixture, phase, o);
        return t !== undefined && b ? (t / b).toFixed(2) : "-";
      });
      const over = others.map((o) => (fixed ? judgedBy.get(o).get(fixture)?.get(phase)?.ratio.toFixed(2) ?? "-" : ""));
      rows.push([fixture, phase, String(runs), ...builderNames.map((n) => cell(med(results, fixture, phase, n))), ...plain, fixed ? fixed.toFixed(1) : "", ...over]);
    }
  }
  const gm = [];
  for (const phase of PHASES) {
    const cells = others.map((o) => {
      const xs = [...judgedBy.get(o).values()].map((p) => p.get(phase)?.ratio).filter((x) => x !== undefined);
      return xs.length ? `${geomean(xs).toFixed(2)} (${xs.length})` : "-";
    });
    gm.push(`geometric mean, ${phase.padEnd(6)} ${others.map((o, i) => `tsbuild/${o} ${cells[i]}`).join("   ")}`);
  }
  return `${render(head, rows)}\n\nmedian of the runs; a fixture with a fixed command time is judged on overhead/ (time above it)\n${gm.join("\n")}`;
}

/** The issue's "Done when": geometric means per phase against BuildKit, and no workload above 1.0x. */
export function goals(results) {
  const out = [];
  const check = (label, ok, detail) => out.push(`${ok ? "PASS" : "MISS"}  ${label}: ${detail}`);
  const j = ratios(results, "BuildKit");
  const limits = { cold: 0.8, warm: 0.9, change: 0.7 };
  const names = { cold: "cold", warm: "no-op rebuild", change: "one-file change" };
  for (const phase of PHASES) {
    const xs = [...j.values()].map((p) => p.get(phase)?.ratio).filter((x) => x !== undefined);
    if (xs.length) check(`${names[phase]} <= ${limits[phase]} x BuildKit (geometric mean of ${xs.length})`, geomean(xs) <= limits[phase], geomean(xs).toFixed(2));
  }
  const above = [];
  for (const [fixture, per] of j) for (const [phase, r] of per) if (r.ratio > 1) above.push(`${fixture} ${phase} ${r.ratio.toFixed(2)}`);
  if (j.size && [...j.values()].some((p) => p.size)) check("no workload above 1.0 x BuildKit in any phase", !above.length, above.length ? above.join(", ") : "none");
  const ctx = med(results, "context-20k", "change", "tsbuild");
  if (ctx !== undefined) check("(earlier goal) context-20k rebuilt after a one-file change < 1 s", ctx < 1, `${ctx.toFixed(2)} s`);
  return out.join("\n");
}

/** Where tsbuild's time went, in ms, by step kind: the median run of each fixture and phase, and the sums. */
export function stepKindTable(results) {
  const head = ["fixture", "phase", "total", ...COLUMNS];
  const rows = [];
  const sums = new Map(PHASES.map((p) => [p, Object.fromEntries(["total", ...COLUMNS].map((c) => [c, 0]))]));
  for (const [fixture, r] of results) {
    for (const phase of PHASES) {
      const samples = r.phases.get(phase)?.get("tsbuild");
      if (!samples?.length) continue;
      const sorted = [...samples].sort((a, b) => a.seconds - b.seconds);
      const s = sorted[Math.floor((sorted.length - 1) / 2)];
      const { ms, counts } = stepKinds(s.profile ?? [], s.seconds);
      const sum = sums.get(phase);
      for (const c of ["total", ...COLUMNS]) sum[c] += ms[c];
      rows.push([fixture, phase, ms.total.toFixed(0), ...COLUMNS.map((c) => (counts[c] !== undefined ? `${ms[c].toFixed(0)} (${counts[c]})` : ms[c].toFixed(0)))]);
    }
  }
  for (const phase of PHASES) {
    const sum = sums.get(phase);
    if (sum.total) rows.push(["all fixtures", phase, sum.total.toFixed(0), ...COLUMNS.map((c) => `${sum[c].toFixed(0)}${sum.total ? ` ${((100 * sum[c]) / sum.total).toFixed(0)}%` : ""}`)]);
  }
  return [
    "where tsbuild's time went, ms (step kinds: sum of the steps' own times, (count); parallel steps overlap;",
    "start-up = process start to the first step (store, parse, base resolve); between = no step running;",
    "export = last step done to exported; exit = last event to the process's exit). A step's time includes",
    "its mount, runc, diff, layer write and commit: the next table splits them.",
    render(head, rows),
  ].join("\n");
}

/** The median tsbuild run of a fixture and phase (by wall time). */
const medianRun = (samples) => [...samples].sort((a, b) => a.seconds - b.seconds)[Math.floor((samples.length - 1) / 2)];

/**
 * Where the time inside tsbuild's build went, ms: the build-wide parts, and the steps that ran by
 * kind and part (the median run of each fixture and phase, and the sums over the fixtures).
 */
export function partsTable(results) {
  const head = ["fixture", "phase", ...BUILD_PARTS, "kind", "steps", "total", ...STEP_PARTS];
  const rows = [];
  const zero = () => ({ build: Object.fromEntries(BUILD_PARTS.map((p) => [p, 0])), steps: Object.fromEntries(RAN_KINDS.map((k) => [k, Object.fromEntries(["count", "total", ...STEP_PARTS].map((p) => [p, 0]))])) });
  const sums = new Map(PHASES.map((p) => [p, zero()]));
  const seen = new Set();
  const emit = (fixture, phase, parts) => {
    const kinds = RAN_KINDS.filter((k) => parts.steps[k].count);
    const build = BUILD_PARTS.map((p) => parts.build[p].toFixed(0));
    if (!kinds.length) rows.push([fixture, phase, ...build, "-", "0", "", ...STEP_PARTS.map(() => "")]);
    kinds.forEach((k, i) => {
      const r = parts.steps[k];
      rows.push([i ? "" : fixture, i ? "" : phase, ...(i ? BUILD_PARTS.map(() => "") : build), k, String(r.count), r.total.toFixed(0), ...STEP_PARTS.map((p) => r[p].toFixed(0))]);
    });
  };
  for (const [fixture, r] of results) {
    for (const phase of PHASES) {
      const samples = r.phases.get(phase)?.get("tsbuild");
      if (!samples?.length) continue;
      const parts = stepParts(medianRun(samples).profile ?? []);
      seen.add(phase);
      const sum = sums.get(phase);
      for (const p of BUILD_PARTS) sum.build[p] += parts.build[p];
      for (const k of RAN_KINDS) for (const c of ["count", "total", ...STEP_PARTS]) sum.steps[k][c] += parts.steps[k][c];
      emit(fixture, phase, parts);
    }
  }
  for (const phase of PHASES) if (seen.has(phase)) emit("all fixtures", phase, sums.get(phase));
  return [
    "where the time inside tsbuild's builds went, ms: build-wide (store: open, session, sweep; parse; context; resolve: base",
    "images; export: image config to outputs) and the steps that ran, by kind and part (mount, change outside a container,",
    "runc, diff walk, layer tar+hash+write, commit; rest: lookup, key, bookkeeping). Cached steps have no parts.",
    render(head, rows, 2),
  ].join("\n");
}

/** Where a tsbuild build's time went: start-up until the first event, each step, export, exit. */
export function breakdown(lines, seconds) {
  if (!lines.length) return "  (no events)";
  const starts = new Map();
  const parts = [`  start-up until the first event ${lines[0].ms.toFixed(0)} ms`];
  const timings = lines.filter((l) => l.event.type === "timing");
  if (timings.length) parts.push(`  build-wide: ${timings.map((l) => `${l.event.phase}${l.event.stage !== undefined ? ` (${l.event.stage})` : ""} ${l.event.ms.toFixed(1)}`).join(", ")} ms`);
  for (const { ms, event } of lines) {
    if (event.type === "step-start") starts.set(event.id, { ms, text: `[${event.stage}] ${event.instruction}` });
    if (event.type === "step-done") {
      const s = starts.get(event.id);
      parts.push(`  ${String(event.durationMs).padStart(6)} ms ${event.cached ? "cached" : "ran   "} ${s ? s.text.slice(0, 90) : event.id}`);
      if (event.phases) parts.push(`            ${Object.entries(event.phases).map(([p, ms]) => `${p} ${ms.toFixed(1)}`).join(", ")}`);
    }
  }
  const lastDone = [...lines].reverse().find((l) => l.event.type === "step-done");
  const exported = lines.find((l) => l.event.type === "exported");
  if (lastDone && exported) parts.push(`  last step done → exported ${(exported.ms - lastDone.ms).toFixed(0)} ms`);
  const last = lines[lines.length - 1];
  parts.push(`  last event → exit ${(seconds * 1000 - last.ms).toFixed(0)} ms (total ${(seconds * 1000).toFixed(0)} ms)`);
  return parts.join("\n");
}
