/** Snapshotter.delta: the overlay snapshotter makes a snapshot from changes written by hand; the copy snapshotter has no such capability. */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { activeMounts, CopySnapshotter, OverlaySnapshotter, type Snapshotter } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-delta-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function base(s: Snapshotter): Promise<void> {
  const a = await s.prepare("k0");
  mkdirSync(join(a.root, "app"));
  writeFileSync(join(a.root, "app/keep"), "keep");
  writeFileSync(join(a.root, "app/gone"), "gone");
  writeFileSync(join(a.root, "app/old"), "old");
  await s.commit("l0", "k0");
}

describe("delta snapshots", () => {
  it("the copy snapshotter has none (its snapshots are full trees)", () => {
    expect(new CopySnapshotter(join(work, "copy")).delta).toBeUndefined();
  });
  it("overlay: prepareDelta → files and whiteouts → commitDelta is the parent's tree with the changes", async () => {
    const s: Snapshotter = new OverlaySnapshotter(join(work, "overlay"));
    const delta = s.delta;
    if (!delta) throw new Error("the overlay snapshotter makes deltas");
    await base(s);
    const dir = await delta.prepareDelta("d1");
    expect(readdirSync(dir)).toEqual([]);
    mkdirSync(join(dir, "app"));
    writeFileSync(join(dir, "app/old"), "new");
    writeFileSync(join(dir, "app/added"), "added");
    await delta.whiteout(join(dir, "app/gone"));
    await delta.commitDelta("l1", "l0", "d1");
    expect(await s.exists("l1")).toBe(true);
    expect(await s.parents("l1")).toEqual(["l0"]);
    const layers = await delta.layerDirs("l1");
    expect(layers.length).toBe(2);
    expect(readFileSync(join(layers[1] as string, "app/old"), "utf8")).toBe("old"); // nearest first
    expect(readFileSync(join(layers[0] as string, "app/old"), "utf8")).toBe("new");
    const v = await s.view("v", "l1");
    expect(readdirSync(join(v.root, "app")).sort()).toEqual(["added", "keep", "old"]);
    expect(readFileSync(join(v.root, "app/old"), "utf8")).toBe("new");
    await s.remove("v");
    expect(activeMounts()).toEqual([]);
  });
  it("overlay: a delta removed instead of committed leaves nothing", async () => {
    const s = new OverlaySnapshotter(join(work, "overlay-drop"));
    await base(s);
    const dir = await s.delta.prepareDelta("d2");
    writeFileSync(join(dir, "x"), "x");
    await s.remove("d2");
    expect(existsSync(dir)).toBe(false);
    expect(await s.exists("d2")).toBe(false);
  });
});
