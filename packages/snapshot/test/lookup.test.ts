// Directories looked up in a committed snapshot without mounting it (lookup.ts): the answer "there"
// only where the mounted tree has a real directory, for overlay (layer directories, whiteouts,
// opaque directories) and copy (full trees) snapshotters.
import { afterAll, describe, expect, it } from "vitest";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resetSysHelper } from "@tsbuild/oci";
import { activeMounts, CopySnapshotter, OverlaySnapshotter, type Snapshotter } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-lookup-"));
afterAll(() => {
  delete process.env.TSBUILD_SYS_HELPER;
  resetSysHelper();
  rmSync(work, { recursive: true, force: true });
});

const PATHS = ["", "a", "a/b", "a/b/c", "lnk", "lnk/b", "file", "file/x", "opq", "opq/inner", "opq/fresh", "x", "x/y", "gone", "nothere", "a/nothere", "was-file", "deep/er/dir"];

/** Three layers: a base, a step that deletes and remakes, a step that adds below an old directory. */
async function chain(s: Snapshotter): Promise<string> {
  const a = await s.prepare("l0", undefined);
  mkdirSync(join(a.root, "a/b/c"), { recursive: true });
  mkdirSync(join(a.root, "x/y"), { recursive: true });
  mkdirSync(join(a.root, "opq/inner"), { recursive: true });
  mkdirSync(join(a.root, "gone"));
  symlinkSync("/a", join(a.root, "lnk"));
  writeFileSync(join(a.root, "file"), "f");
  writeFileSync(join(a.root, "was-file"), "f");
  for await (const _ of s.diff("l0"));
  await s.commit("c0", "l0");
  const b = await s.prepare("l1", "c0");
  rmSync(join(b.root, "opq"), { recursive: true });
  mkdirSync(join(b.root, "opq/fresh"), { recursive: true });
  rmSync(join(b.root, "x/y"), { recursive: true });
  rmSync(join(b.root, "gone"), { recursive: true });
  unlinkSync(join(b.root, "was-file"));
  mkdirSync(join(b.root, "was-file"));
  for await (const _ of s.diff("l1"));
  await s.commit("c1", "l1");
  const c = await s.prepare("l2", "c1");
  mkdirSync(join(c.root, "deep/er/dir"), { recursive: true });
  for await (const _ of s.diff("l2"));
  await s.commit("c2", "l2");
  return "c2";
}

/** What the mounted tree says: a real directory through real directories. */
async function truth(s: Snapshotter, name: string): Promise<string[]> {
  const v = await s.view("truth", name);
  const out = PATHS.filter((p) => {
    let rel = "";
    for (const part of p.split("/").filter(Boolean)) {
      rel = rel ? `${rel}/${part}` : part;
      if (!lstatSync(join(v.root, rel), { throwIfNoEntry: false })?.isDirectory()) return false;
    }
    return true;
  });
  await s.remove("truth");
  return out;
}

async function looked(s: Snapshotter, name: string | undefined): Promise<string[]> {
  const out: string[] = [];
  for (const p of PATHS) if (await s.lookup?.isDirectory(name, p)) out.push(p);
  return out;
}

describe("directory lookup without a mount", () => {
  it("overlay: the mounted tree's directories, through whiteouts and opaque directories", async () => {
    resetSysHelper();
    const s = new OverlaySnapshotter(join(work, "overlay"));
    const top = await chain(s);
    const expected = ["", "a", "a/b", "a/b/c", "opq", "opq/fresh", "x", "was-file", "deep/er/dir"];
    expect(await truth(s, top)).toEqual(expected);
    expect(await looked(s, top)).toEqual(expected);
    expect(await looked(s, undefined)).toEqual([""]);
    expect(activeMounts()).toEqual([]);
  });
  it("overlay without tsbuild-sys: unsure (false) but for the root", async () => {
    process.env.TSBUILD_SYS_HELPER = "off";
    resetSysHelper();
    const s = new OverlaySnapshotter(join(work, "overlay"));
    expect(await looked(s, "c2")).toEqual([""]);
    delete process.env.TSBUILD_SYS_HELPER;
    resetSysHelper();
  });
  it("copy: the same answers from its full trees", async () => {
    const s = new CopySnapshotter(join(work, "copy"));
    const top = await chain(s);
    const expected = await truth(s, top);
    expect(expected).toEqual(["", "a", "a/b", "a/b/c", "opq", "opq/fresh", "x", "was-file", "deep/er/dir"]);
    expect(await looked(s, top)).toEqual(expected);
    expect(await looked(s, undefined)).toEqual([""]);
  });
});
