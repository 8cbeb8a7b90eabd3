import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CopySnapshotter, OverlaySnapshotter, type Snapshotter } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-spread-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** lsattr's flags of a directory, or undefined where the file system has none (not ext2/3/4). */
function flags(dir: string): string | undefined {
  try {
    return execFileSync("lsattr", ["-d", dir], { stdio: ["ignore", "pipe", "ignore"] }).toString().split(" ")[0];
  } catch {
    return undefined;
  }
}

describe.each([
  ["overlay", (root: string) => new OverlaySnapshotter(root)],
  ["copy", (root: string) => new CopySnapshotter(root)],
])("%s active snapshots", (kind, make) => {
  it("live under a directory flagged to spread its subdirectories (ext4 TOPDIR), with nothing else in it", async () => {
    const root = join(work, kind);
    const s: Snapshotter = make(root);
    await s.prepare("one");
    expect(existsSync(join(root, "a.spread"))).toBe(true);
    const f = flags(join(root, "a"));
    if (f !== undefined) expect(f).toContain("T"); // lsattr works only on ext2/3/4
    expect(readdirSync(join(root, "a"))).toHaveLength(1);
    await s.remove("one");
    expect(readdirSync(join(root, "a"))).toEqual([]);
  });
});
