// tsbuild-sys (oci/src/sys-helper.ts) in place of mount/umount/getfattr/sync: the same trees, diffs
// and mounts as the tools give, and nothing left mounted.
import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resetSysHelper, sysHelper } from "@tsbuild/oci";
import { activeMounts, mountPointsUnder, OverlaySnapshotter } from "../src/index.js";
import { EarlyFlush } from "../src/early-flush.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-sys-helper-"));
afterAll(() => {
  delete process.env.TSBUILD_SYS_HELPER;
  resetSysHelper();
  rmSync(work, { recursive: true, force: true });
});

function withHelper(on: boolean): void {
  if (on) delete process.env.TSBUILD_SYS_HELPER;
  else process.env.TSBUILD_SYS_HELPER = "off";
  resetSysHelper();
  expect(sysHelper() !== undefined).toBe(on);
}

/** One step's diff on a base with /keep/old, /gone/old, /was-file; its entries and the committed tree's files. */
async function step(name: string): Promise<{ entries: string[]; tree: string[] }> {
  const s = new OverlaySnapshotter(join(work, name));
  const base = await s.prepare("base", undefined);
  mkdirSync(join(base.root, "keep"));
  writeFileSync(join(base.root, "keep/old"), "o");
  mkdirSync(join(base.root, "gone/deep"), { recursive: true });
  writeFileSync(join(base.root, "gone/deep/old"), "o");
  writeFileSync(join(base.root, "was-file"), "f");
  await s.commit("base-c", "base");
  const a = await s.prepare("step", "base-c");
  rmSync(join(a.root, "gone"), { recursive: true });
  mkdirSync(join(a.root, "gone/deep"), { recursive: true });
  writeFileSync(join(a.root, "gone/new"), "n");
  unlinkSync(join(a.root, "was-file"));
  mkdirSync(join(a.root, "was-file"));
  unlinkSync(join(a.root, "keep/old"));
  writeFileSync(join(a.root, "big"), Buffer.alloc(64 << 10, 1));
  const entries: string[] = [];
  for await (const e of s.diff("step")) entries.push(`${e.type} ${e.path}`);
  await s.commit("step-c", "step");
  const v = await s.view("v", "step-c");
  const tree = ["gone/new", "keep/old", "gone/deep/old", "big"].map((p) => {
    try {
      return `${p}=${readFileSync(join(v.root, p)).length}`;
    } catch {
      return `${p} absent`;
    }
  });
  // a view of one layer is a read-only bind
  const one = await s.view("one", "base-c");
  expect(() => writeFileSync(join(one.root, "x"), "x")).toThrow(/EROFS/);
  expect(readFileSync(join(one.root, "keep/old"), "utf8")).toBe("o");
  await s.remove("one");
  await s.remove("v");
  expect(activeMounts()).toEqual([]);
  expect(mountPointsUnder(join(work, name))).toEqual([]);
  return { entries: entries.sort(), tree };
}

describe("overlay snapshots through tsbuild-sys", () => {
  it("diff (whiteouts, opaque directories), commit and views are the tools' own", async () => {
    withHelper(false);
    const tools = await step("tools");
    withHelper(true);
    const helper = await step("helper");
    expect(helper).toEqual(tools);
    expect(helper.entries).toEqual(["dir gone", "dir gone/deep", "dir keep", "dir was-file", "file big", "file gone/new", "opaque gone", "opaque was-file", "whiteout keep/old"]);
    expect(helper.tree).toEqual(["gone/new=1", "keep/old absent", "gone/deep/old absent", "big=65536"]);
  });

  it("a mount that fails names its target; a busy mount is detached; an unmounted one is no error", async () => {
    withHelper(true);
    const s = new OverlaySnapshotter(join(work, "errors"));
    await expect(s.prepare("k", "no-such-parent")).rejects.toThrow();
    const a = await s.prepare("busy", undefined);
    writeFileSync(join(a.root, "f"), "f");
    const { openSync, closeSync } = await import("node:fs");
    const fd = openSync(join(a.root, "f"), "r"); // holds the mount busy
    try {
      await s.remove("busy");
      expect(mountPointsUnder(join(work, "errors"))).toEqual([]);
    } finally {
      closeSync(fd);
    }
    const h = sysHelper();
    await expect(h?.mount({ target: join(work, "nowhere"), source: "overlay", fstype: "overlay", data: "lowerdir=/nonexistent" })).rejects.toThrow(/nowhere.*ENOENT|ENOENT/);
    await expect(h?.umount(work)).rejects.toMatchObject({ code: "EINVAL" });
    expect(activeMounts()).toEqual([]);
  });

  it("the early flush syncs through it", async () => {
    withHelper(true);
    const dir = join(work, "flush");
    mkdirSync(dir);
    const f = new EarlyFlush(dir, 1);
    const out: string[] = [];
    for await (const e of f.watch((async function* () {
      yield { path: "a", type: "file" as const, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: 10 };
    })())) out.push(e.path);
    expect(f.started).toBe(true);
    await f.done();
    expect(out).toEqual(["a"]);
  });
});
