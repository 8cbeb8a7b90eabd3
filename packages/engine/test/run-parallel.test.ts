import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { build, type BuildEvent } from "../src/index.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";

// RUN containers are not bounded by cores (a container sleeps or waits as often as it computes),
// as BuildKit runs independent stages' containers all at once; tsbuild's own file work still is.
const work = mkdtempSync(join(tmpdir(), "tsbuild-run-parallel-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  await storeBusyboxBase(root, "base:1", work);
  mkdirSync(ctx, { recursive: true });
}, 60_000);

/** More independent one-second stages than cores (at least three), then one stage copying from all. */
const STAGES = Math.max(3, cpus().length + 1);
const dockerfile = (tag: string) => [
  ...Array.from({ length: STAGES }, (_, i) => [`FROM base:1 AS s${i}`, `RUN echo ${tag} > /tag && echo "start $(cut -d' ' -f1 /proc/uptime)" && sleep 1 && echo "end $(cut -d' ' -f1 /proc/uptime)" && echo ${i} > /out${i}`]).flat(),
  "FROM base:1",
  ...Array.from({ length: STAGES }, (_, i) => `COPY --from=s${i} /out${i} /out${i}`),
].join("\n");

/**
 * How many RUN containers were running at once at most, and the time from the first start to the
 * last end (ms): from the host uptime each printed at its start and end.
 */
function containers(events: BuildEvent[]): { most: number; spanMs: number } {
  const marks: { t: number; d: number }[] = [];
  for (const e of events) {
    if (e.type !== "step-output") continue;
    for (const m of e.data.matchAll(/^(start|end) ([\d.]+)$/gm)) marks.push({ t: Number(m[2]), d: m[1] === "start" ? 1 : -1 });
  }
  expect(marks.length).toBe(2 * STAGES);
  marks.sort((a, b) => a.t - b.t || a.d - b.d); // an end before a start at the same time
  let now = 0;
  let most = 0;
  for (const m of marks) most = Math.max(most, (now += m.d));
  return { most, spanMs: Math.round(((marks[marks.length - 1]?.t ?? 0) - (marks[0]?.t ?? 0)) * 1000) };
}

describe("RUN containers of independent stages", () => {
  it(`run all at once: ${STAGES} one-second stages on ${cpus().length} cores finish within 2 s of the first start`, async () => {
    const events: BuildEvent[] = [];
    await build({ context: ctx, dockerfileText: dockerfile("a"), root, platform: { os: "linux", architecture: "amd64" }, onEvent: (e) => events.push(e) });
    // the containers' own span, not the build's wall time: other test files load the machine too
    const { most, spanMs } = containers(events);
    expect(most).toBe(STAGES);
    expect(spanMs).toBeLessThan(2000);
  }, 30_000);

  it("maxParallelRuns bounds them: with 1 they run one after another", async () => {
    const events: BuildEvent[] = [];
    await build({ context: ctx, dockerfileText: dockerfile("b"), root, maxParallelRuns: 1, platform: { os: "linux", architecture: "amd64" }, onEvent: (e) => events.push(e) });
    const { most, spanMs } = containers(events);
    expect(most).toBe(1);
    expect(spanMs).toBeGreaterThanOrEqual(STAGES * 1000 - 50);
  }, 30_000);
});
