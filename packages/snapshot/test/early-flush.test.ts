import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LayerEntry } from "@tsbuild/oci";
import { OverlaySnapshotter } from "../src/index.js";
import { EarlyFlush } from "../src/early-flush.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-early-flush-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const file = (path: string, size: number): LayerEntry => ({ path, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size });
async function* entries(list: LayerEntry[]): AsyncIterable<LayerEntry> {
  yield* list;
}

describe("EarlyFlush", () => {
  it("hands every entry on unchanged and starts the flush only once the files hold the threshold", async () => {
    const flush = new EarlyFlush(work, 100);
    const seen: string[] = [];
    const list = [{ path: "d", type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) } as LayerEntry, file("d/a", 60), file("d/b", 39), file("d/c", 1), file("d/e", 500)];
    for await (const e of flush.watch(entries(list))) {
      seen.push(e.path);
      if (e.path === "d/b") expect(flush.started).toBe(false); // 99 bytes
      if (e.path === "d/c") expect(flush.started).toBe(true); // 100
    }
    expect(seen).toEqual(["d", "d/a", "d/b", "d/c", "d/e"]);
    await flush.done();
  });

  it("never starts for a diff below the threshold (a small step pays nothing)", async () => {
    const flush = new EarlyFlush(work);
    for await (const _ of flush.watch(entries([file("a", 15 << 20), file("b", (1 << 20) - 1)]))) void _;
    expect(flush.started).toBe(false);
    await flush.done();
  });

  it("an overlay step that wrote 20 MiB starts it during the diff and commits the same files", async () => {
    const s = new OverlaySnapshotter(join(work, "overlay"));
    const a = await s.prepare("step");
    writeFileSync(join(a.root, "big"), Buffer.alloc(20 << 20, 1));
    writeFileSync(join(a.root, "small"), "x");
    const paths: string[] = [];
    for await (const e of s.diff("step")) paths.push(`${e.path}:${e.size}`);
    expect(paths).toEqual([`big:${20 << 20}`, "small:1"]);
    await s.commit("done", "step");
    const v = await s.view("v", "done");
    expect(readFileSync(join(v.root, "small"), "utf8")).toBe("x");
    await s.remove("v");
  });
});
