import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepareRunMounts } from "../src/index.js";

// sharing=locked holds a cache for one run at a time across processes (two builds on one store), not
// only within one: each process prepares the locked cache mount, logs entering and leaving, releases.
const work = mkdtempSync(join(tmpdir(), "tsbuild-run-mounts-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("RUN --mount=type=cache,sharing=locked", () => {
  it("is held by one process at a time; the lock file is gone afterwards", async () => {
    const cacheRoot = join(work, "cache");
    const log = join(work, "log");
    writeFileSync(log, "");
    const child = join(work, "child.mjs");
    writeFileSync(child, [
      `import { prepareRunMounts } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).pathname)};`,
      `import { appendFileSync, mkdtempSync } from "node:fs";`,
      `const [cacheRoot, log, go] = process.argv.slice(2);`,
      `while (Date.now() < Number(go)) {}`,
      `const p = await prepareRunMounts([{ type: "cache", target: "/c", id: "shared-id", sharing: "locked" }], { cacheRoot, scratch: mkdtempSync("${work}/scratch-") });`,
      `appendFileSync(log, "in\\n");`,
      `await new Promise((r) => setTimeout(r, 150));`,
      `appendFileSync(log, "out\\n");`,
      `await p.release();`,
    ].join("\n"));
    const go = Date.now() + 500;
    const codes = await Promise.all(Array.from({ length: 4 }, () => new Promise<number | null>((done) => {
      spawn(process.execPath, [child, cacheRoot, log, String(go)], { stdio: "inherit" }).on("close", done);
    })));
    expect(codes).toEqual([0, 0, 0, 0]);
    const lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
    expect(lines).toEqual(["in", "out", "in", "out", "in", "out", "in", "out"]);
    expect(readdirSync(cacheRoot).filter((n) => n.endsWith(".lock") || n.endsWith(".break"))).toEqual([]);
    expect(existsSync(cacheRoot)).toBe(true);
  }, 30_000);

  it("takes several locked caches in one order (no two runs wait for each other) and stops waiting on abort", async () => {
    const cacheRoot = join(work, "cache-order");
    const scratch = mkdtempSync(join(work, "scratch-"));
    const cache = (id: string) => ({ type: "cache" as const, target: `/${id}`, id, sharing: "locked" as const });
    // run 1 names a then b, run 2 b then a: taken in one order, the second simply waits for the first
    const first = await prepareRunMounts([cache("a"), cache("b")], { cacheRoot, scratch });
    const ac = new AbortController();
    const second = prepareRunMounts([cache("b"), cache("a")], { cacheRoot, scratch, signal: ac.signal });
    let settled = false;
    void second.then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setTimeout(r, 150));
    expect(settled).toBe(false);
    ac.abort(new Error("interrupted by SIGINT"));
    await expect(second).rejects.toThrow(/interrupted/);
    // the abandoned waiter took nothing: a third run gets both caches once the first releases them
    await first.release();
    const third = await prepareRunMounts([cache("b"), cache("a")], { cacheRoot, scratch });
    await third.release();
    expect(readdirSync(cacheRoot).filter((n) => n.endsWith(".lock"))).toEqual([]);
  });
});
