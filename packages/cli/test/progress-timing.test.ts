/** --progress=json's timings: each step that ran says where its time went (`phases`), the build its build-wide parts (`timing`). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers/run-cli.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-timing-"));
const ctx = join(work, "ctx");
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (argv: string[], stdin?: Buffer) => runCli(argv, { ...(stdin ? { stdin } : {}), env: { TSBUILD_ROOT: join(work, "store") }, cwd: work });

const STEP_PHASES = ["mount", "change", "runc", "diff", "layer", "commit"];
const BUILD_PHASES = ["store", "parse", "context", "resolve", "export"];

type Event = { type: string; id?: number; instruction?: string; cached?: boolean; durationMs?: number; phases?: Record<string, number>; phase?: string; ms?: number };
/** The build's events, and each step's step-done with its instruction. */
async function jsonBuild(): Promise<{ events: Event[]; steps: Map<string, Event> }> {
  const r = await run(["build", "--progress=json", "-t", "app:1", ctx]);
  expect(r.code).toBe(0);
  const events = `${r.out}\n${r.err}`.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Event);
  const text = new Map(events.filter((e) => e.type === "step-start").map((e) => [e.id, e.instruction as string]));
  const steps = new Map(events.filter((e) => e.type === "step-done").map((e) => [text.get(e.id) as string, e]));
  return { events, steps };
}

beforeAll(async () => {
  const r = await run(["import", "-", "base:1", "-c", 'CMD ["sh"]'], busyboxTar(makeBusyboxRootfs(join(work, "rootfs"))));
  expect(r.code).toBe(0);
  mkdirSync(ctx);
  writeFileSync(join(ctx, "app.txt"), "one\n");
  writeFileSync(join(ctx, "Dockerfile"), "FROM base:1\nWORKDIR /app\nCOPY app.txt .\nRUN wc -c app.txt > size\nCOPY --link app.txt /linked.txt\nENV DONE=1\n");
}, 60_000);

describe("--progress=json timings", () => {
  let first: Awaited<ReturnType<typeof jsonBuild>>;
  it("a step that ran has its phases: known names, non-negative, no more than its duration", async () => {
    first = await jsonBuild();
    for (const [instruction, done] of first.steps) {
      if (instruction.startsWith("ENV")) {
        expect(done.phases).toBeUndefined(); // a config-only step does no file-system work
        continue;
      }
      expect(done.cached).toBe(false);
      const phases = done.phases as Record<string, number>;
      expect(phases, instruction).toBeDefined();
      for (const [name, ms] of Object.entries(phases)) {
        expect(STEP_PHASES).toContain(name);
        expect(typeof ms).toBe("number");
        expect(ms).toBeGreaterThanOrEqual(0);
      }
      // exclusive phases add up to at most the step's time (durationMs is whole ms, the phases 0.1 ms)
      expect(Object.values(phases).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual((done.durationMs as number) + 1);
      expect(Object.keys(phases)).toEqual(expect.arrayContaining(["mount", "change", "diff", "layer", "commit"]));
    }
    expect(Object.keys(first.steps.get("RUN wc -c app.txt > size")?.phases ?? {})).toContain("runc");
    expect(Object.keys(first.steps.get("COPY app.txt .")?.phases ?? {})).not.toContain("runc");
    expect(Object.keys(first.steps.get("COPY --link app.txt /linked.txt")?.phases ?? {})).not.toContain("runc");
  });
  it("the build's own parts come as timing events, each with its time", () => {
    const timings = first.events.filter((e) => e.type === "timing");
    expect(new Set(timings.map((e) => e.phase))).toEqual(new Set(BUILD_PHASES));
    for (const t of timings) expect(t.ms).toBeGreaterThanOrEqual(0);
    // the store is opened before the first step, the export comes after the last
    const at = (pred: (e: Event) => boolean) => first.events.findIndex(pred);
    expect(at((e) => e.phase === "store")).toBeLessThan(at((e) => e.type === "step-start"));
    expect(first.events.findLastIndex((e) => e.phase === "export")).toBeGreaterThan(first.events.findLastIndex((e) => e.type === "step-done"));
  });
  it("a cached step has no phases", async () => {
    const again = await jsonBuild();
    for (const [instruction, done] of again.steps) {
      expect(done.cached, instruction).toBe(true);
      expect(done.phases, instruction).toBeUndefined();
    }
    expect(new Set(again.events.filter((e) => e.type === "timing").map((e) => e.phase))).toEqual(new Set(BUILD_PHASES));
  });
});
