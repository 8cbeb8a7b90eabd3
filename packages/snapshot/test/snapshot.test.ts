import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OverlaySnapshotter, CopySnapshotter, activeMounts, chooseSnapshotter, type Snapshotter } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-snapshot-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Commits `n` layers, layer i adds f<i> and deletes f<i-5>. */
async function chain(s: Snapshotter, n: number): Promise<string> {
  let parent: string | undefined;
  for (let i = 0; i < n; i++) {
    const a = await s.prepare(`k${i}`, parent);
    writeFileSync(join(a.root, `f${i}`), String(i));
    if (i >= 5) unlinkSync(join(a.root, `f${i - 5}`));
    await s.commit(`l${i}`, `k${i}`);
    parent = `l${i}`;
  }
  return parent as string;
}

describe("deep chains", () => {
  it("mounts 120 layers as lowerdirs", async () => {
    const s = new OverlaySnapshotter(join(work, "deep"));
    const top = await chain(s, 120);
    const v = await s.view("v", top);
    expect(readdirSync(v.root).sort()).toEqual(["f115", "f116", "f117", "f118", "f119"]);
    await s.remove("v");
    expect((await s.parents(top)).length).toBe(119);
    expect(activeMounts()).toEqual([]);
  }, 120_000);
  it("flattens a chain too long for one mount option, whiteouts applied", async () => {
    const s = new OverlaySnapshotter(join(work, "flat"), { maxMountOption: 120 });
    const top = await chain(s, 30);
    const a = await s.prepare("on-top", top);
    expect(readdirSync(a.root).sort()).toEqual(["f25", "f26", "f27", "f28", "f29"]);
    expect(readFileSync(join(a.root, "f29"), "utf8")).toBe("29");
    await s.remove("on-top");
    expect(activeMounts()).toEqual([]);
  }, 120_000);
});

describe("snapshotters agree", () => {
  it("the copy snapshotter sees the same tree", async () => {
    const s = new CopySnapshotter(join(work, "copy"));
    const top = await chain(s, 12);
    const v = await s.view("v", top);
    expect(readdirSync(v.root).sort()).toEqual(["f10", "f11", "f7", "f8", "f9"]);
  });
  it("auto picks overlay as root here, copy when asked", async () => {
    expect((await chooseSnapshotter(join(work, "auto"))).kind).toBe("overlay");
    expect((await chooseSnapshotter(join(work, "auto"), "copy")).kind).toBe("copy");
    expect(existsSync(join(work, "auto/tmp"))).toBe(true);
  });
});
