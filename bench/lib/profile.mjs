// Where a tsbuild build's time went by step kind, from its --progress=json events (stamped with the
// time each arrived): start-up until the first step (process start, store, Dockerfile parse, base
// image resolve), time inside RUN / COPY+ADD / WORKDIR / config-only steps that ran, inside cache
// hits, between steps, export (last step done → exported: image config, manifest, tag) and exit.
// Each step's own time (durationMs) covers its mount, container run, diff, layer write and commit:
// the events do not split those.

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
