// Where a tsbuild build's time went by step kind, from its --progress=json events (stamped with the
// time each arrived): start-up until the first step (process start, store, Dockerfile parse, base
// image resolve), time inside RUN / COPY+ADD / WORKDIR / config-only steps that ran, inside cache
// hits, between steps, export (last step done → exported: image config, manifest, tag) and exit.
// Each step's own time (durationMs) covers its mount, container run, diff, layer write and commit;
// stepParts splits it by the `phases` of its step-done event, and the build-wide parts (store,
// parse, context, base resolve, export) by the `timing` events (README, "--progress=json").

export const KINDS = ["RUN", "COPY/ADD", "WORKDIR", "config", "cached"];
export const COLUMNS = ["start-up", ...KINDS, "between", "export", "exit"];

const kindOf = (instruction, cached) => {
  if (cached) return "cached";
  const word = instruction.trim().split(/\s+/)[0].toUpperCase();
  if (word === "RUN") return "RUN";
  if (word === "COPY" || word === "ADD") return "COPY/ADD";
  if (word === "WORKDIR") return "WORKDIR";
  return "config";
};

/** { total, "start-up", RUN, ..., between, export, exit } in ms, and step counts per kind. */
export function stepKinds(lines, seconds) {
  const total = seconds * 1000;
  const out = Object.fromEntries([["total", total], ...COLUMNS.map((c) => [c, 0])]);
  const counts = Object.fromEntries(KINDS.map((k) => [k, 0]));
  if (!lines.length) return { ms: { ...out, exit: total }, counts };
  const instr = new Map();
  const spans = [];
  let firstStart, lastDone;
  for (const { ms, event } of lines) {
    if (event.type === "step-start") {
      instr.set(event.id, event.instruction);
      firstStart ??= ms;
    }
    if (event.type === "step-done") {
      const kind = kindOf(instr.get(event.id) ?? "", event.cached);
      out[kind] += event.durationMs;
      counts[kind]++;
      spans.push([ms - event.durationMs, ms]);
      lastDone = ms;
    }
  }
  const exported = lines.find((l) => l.event.type === "exported");
  const last = lines[lines.length - 1].ms;
  out["start-up"] = firstStart ?? lines[0].ms;
  if (lastDone !== undefined) {
    // time between the first step's start and the last step's end in no step (parallel steps overlap)
    spans.sort((a, b) => a[0] - b[0]);
    let covered = 0, end = -Infinity;
    for (const [s, e] of spans) {
      if (e <= end) continue;
      covered += e - Math.max(s, end);
      end = e;
    }
    out.between = Math.max(0, lastDone - out["start-up"] - covered);
  }
  if (exported && lastDone !== undefined) out.export = exported.ms - lastDone;
  out.exit = total - last;
  return { ms: out, counts };
}

/** The parts of a step that ran (step-done `phases`), in order; "rest" is its time in none (lookup, key, bookkeeping). */
export const STEP_PARTS = ["mount", "change", "runc", "diff", "layer", "commit", "rest"];
/** The build-wide parts (`timing` events), in order. */
export const BUILD_PARTS = ["store", "parse", "context", "resolve", "export"];
export const RAN_KINDS = ["RUN", "COPY/ADD", "WORKDIR"];

/**
 * Where the steps that ran spent their time, and the build-wide parts: { build: { store, … },
 * steps: { RUN: { count, total, mount, …, rest }, … } } in ms (cached and config-only steps are left out).
 */
export function stepParts(lines) {
  const build = Object.fromEntries(BUILD_PARTS.map((p) => [p, 0]));
  const steps = Object.fromEntries(RAN_KINDS.map((k) => [k, Object.fromEntries([["count", 0], ["total", 0], ...STEP_PARTS.map((p) => [p, 0])])]));
  const instr = new Map();
  for (const { event } of lines) {
    if (event.type === "step-start") instr.set(event.id, event.instruction);
    if (event.type === "timing" && event.phase in build) build[event.phase] += event.ms;
    if (event.type === "step-done" && !event.cached) {
      const row = steps[kindOf(instr.get(event.id) ?? "", false)];
      if (!row) continue;
      row.count++;
      row.total += event.durationMs;
      let inParts = 0;
      for (const [p, ms] of Object.entries(event.phases ?? {})) {
        if (!(p in row) || p === "rest") continue;
        row[p] += ms;
        inParts += ms;
      }
      row.rest += Math.max(0, event.durationMs - inParts);
    }
  }
  return { build, steps };
}
