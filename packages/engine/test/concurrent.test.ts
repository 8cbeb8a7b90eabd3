import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Store } from "@tsbuild/oci";
import { runImage } from "../src/index.js";
import { entries, mountsUnder, putBusyboxBase, runcContainers } from "./helpers/store-fixtures.js";

/**
 * Several `tsbuild` processes on one store at once: two cold builds of the same steps (they commit
 * the same snapshots and write the same blobs), one that shares a prefix with them, one unrelated,
 * an unchanged rebuild, and a plain prune alongside.
 */
const work = mkdtempSync(join(tmpdir(), "tsbuild-concurrent-"));
const root = join(work, "store");
const bin = fileURLToPath(new URL("../../cli/bin/tsbuild.js", import.meta.url));
let store: Store;
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SHARED = ["FROM base:1", "WORKDIR /app", "COPY a.txt .", "RUN cat a.txt > out.txt && head -c 200000 /dev/urandom > r.bin"];
const DOCKERFILES: Record<string, string[]> = {
  same1: SHARED,
  same2: SHARED,
  longer: [...SHARED, "RUN echo longer > longer.txt"],
  other: ["FROM base:1", "RUN echo other > /other.txt", "COPY a.txt /other/"],
  rebuild: ["FROM base:1", "COPY a.txt /r/", "RUN echo rebuilt > /r/r.txt"],
};

function context(name: string): string {
  const ctx = join(work, name);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "a.txt"), `a from ${name === "other" ? "other" : "shared"}\n`);
  writeFileSync(join(ctx, "Dockerfile"), (DOCKERFILES[name] as string[]).join("\n"));
  return ctx;
}

function tsbuild(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, TSBUILD_ROOT: root }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

const buildArgs = (name: string) => ["build", "-t", `${name}:1`, "--platform", "linux/amd64", "--progress", "plain", "--metadata-file", join(work, `${name}.json`), context(name)];
const cachedFlags = (name: string) => (JSON.parse(readFileSync(join(work, `${name}.json`), "utf8")) as { steps: { instruction: string; cached: boolean }[] }).steps
  .filter((s) => /^(RUN|COPY|WORKDIR)/.test(s.instruction)).map((s) => s.cached);

async function runIn(name: string, script: string): Promise<string> {
  let out = "";
  const img = await store.images.get(`${name}:1`);
  expect(img, `${name}:1 is in the store`).toBeDefined();
  const code = await runImage({ store, target: img!.target, cmd: ["sh", "-c", script], network: "none", onOutput: (_s, c) => (out += c) });
  expect(code).toBe(0);
  return out;
}

beforeAll(async () => {
  store = await putBusyboxBase(root, work);
  const first = await tsbuild(buildArgs("rebuild"));
  expect(first.err).not.toMatch(/error/i);
  expect(first.code).toBe(0);
}, 120_000);

describe("concurrent builds on one store", () => {
  it("all succeed with correct images, store check finds nothing, nothing is left behind", async () => {
    const names = ["same1", "same2", "longer", "other", "rebuild"];
    const results = await Promise.all([...names.map((n) => tsbuild(buildArgs(n))), tsbuild(["prune"])]);
    results.forEach((r, i) => expect(r.code, `${names[i] ?? "prune"}: ${r.err}`).toBe(0));

    expect(cachedFlags("rebuild")).toEqual([true, true]);
    for (const n of ["same1", "same2", "longer"]) {
      expect(await runIn(n, "cat /app/out.txt; wc -c < /app/r.bin")).toBe("a from shared\n200000\n");
    }
    expect(await runIn("longer", "cat /app/longer.txt")).toBe("longer\n");
    expect(await runIn("other", "cat /other.txt /other/a.txt")).toBe("other\na from other\n");
    expect(await runIn("rebuild", "cat /r/a.txt /r/r.txt")).toBe("a from shared\nrebuilt\n");

    const check = await tsbuild(["store", "check"]);
    expect(check.out).toMatch(/ 0 corrupt, 0 missing/);
    expect(check.code).toBe(0);
    expect(mountsUnder(root)).toEqual([]);
    expect(runcContainers(root)).toEqual([]);
    expect(entries(join(root, "tmp"))).toEqual([]);
    expect(entries(join(root, "blobs", "ingest"))).toEqual([]);
    expect(entries(join(root, "locks", "sessions"))).toEqual([]);
    for (const kind of ["overlay", "copy"]) {
      expect(entries(join(root, "snapshots", kind, "a"))).toEqual([]);
      expect(entries(join(root, "snapshots", kind, "c")).filter((n) => !/^[0-9a-f]{12}$/.test(n))).toEqual([]);
    }
    // and a rebuild of each hits every step
    const again = await Promise.all(["same1", "longer"].map((n) => tsbuild(buildArgs(n))));
    again.forEach((r) => expect(r.code).toBe(0));
    expect(cachedFlags("same1").every(Boolean)).toBe(true);
    expect(cachedFlags("longer").every(Boolean)).toBe(true);
  }, 240_000);
});
