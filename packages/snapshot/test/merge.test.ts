/**
 * Snapshotter.merge (merge.ts): a layer made on no parent, committed as a whole layer, shared as one
 * more lowerdir of another chain. Its tree there is exactly the layer applied to that chain (the
 * same walk as unpackLayer's result); what would make the directory and the layer differ (a ".wh."
 * name, an xattr, a deletion lost on an empty tree, the directory below itself) is refused; a
 * chain of many merges is flattened as any deep chain; a merge whose shared layer is gone is not a
 * snapshot. The copy snapshotter has no such capability.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync, chownSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalContentStore, storeLayer, walkDirectory, type Digest } from "@tsbuild/oci";
import { activeMounts, CopySnapshotter, OverlaySnapshotter, unpackLayer, type LayerSource } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-merged-snapshots-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const content = new LocalContentStore(join(work, "content"));

const idOf = (name: string) => createHash("sha256").update(name).digest("hex").slice(0, 12);
const meta = (root: string, name: string) => JSON.parse(readFileSync(join(root, "c", idOf(name), "meta.json"), "utf8")) as Record<string, unknown>;

/** Every entry under `root`: type, mode, owner, mtime (to the second, as a layer's tar holds it), link target, content. */
async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of walkDirectory(root)) {
    const body = e.type === "file" ? readFileSync(join(root, e.path), "utf8") : "";
    out.push(`${e.type} ${e.path} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${Math.floor(e.mtime.getTime() / 1000)} ${e.linkname ?? ""} ${body}`);
  }
  return out;
}

/** The diff of `key` stored as a layer; its source for unpackLayer. */
async function store(s: OverlaySnapshotter, key: string): Promise<LayerSource & { diffId: Digest }> {
  const l = await storeLayer(content, s.diff(key), { compression: "none" });
  return { digest: l.descriptor.digest, diffId: l.diffId, of: "test", remedy: "-", open: () => content.reader(l.descriptor.digest) };
}

async function parentTree(s: OverlaySnapshotter, name: string): Promise<void> {
  const a = await s.prepare(`${name}-k`);
  mkdirSync(join(a.root, "d"));
  writeFileSync(join(a.root, "d/old"), "old");
  writeFileSync(join(a.root, "f"), "file below");
  symlinkSync("d", join(a.root, "s"));
  mkdirSync(join(a.root, "x/deep"), { recursive: true });
  writeFileSync(join(a.root, "x/deep/child"), "child");
  writeFileSync(join(a.root, "keep"), "keep");
  mkdirSync(join(a.root, "m"), { mode: 0o700 });
  chownSync(join(a.root, "m"), 3, 3);
  writeFileSync(join(a.root, "m/a"), "a");
  await s.commit(name, `${name}-k`);
}

/** A layer on no parent: d merges with the dir below (another mode), s and f become dirs, x a file, hard links, m merges. */
async function layerTree(s: OverlaySnapshotter, key: string): Promise<void> {
  const a = await s.prepare(key);
  mkdirSync(join(a.root, "d"), { mode: 0o750 });
  chmodSync(join(a.root, "d"), 0o750);
  writeFileSync(join(a.root, "d/new"), "new");
  mkdirSync(join(a.root, "s"));
  writeFileSync(join(a.root, "s/in"), "in");
  writeFileSync(join(a.root, "x"), "x is a file now");
  mkdirSync(join(a.root, "f"));
  writeFileSync(join(a.root, "f/g"), "g");
  mkdirSync(join(a.root, "m"));
  writeFileSync(join(a.root, "m/b"), "b");
  writeFileSync(join(a.root, "h1"), "linked");
  linkSync(join(a.root, "h1"), join(a.root, "h2"));
  for (const p of ["d", "s", "f", "m", "x", "h1", "d/new"]) utimesSync(join(a.root, p), 1_000_000, 1_000_000);
}

describe("merged snapshots (overlay)", () => {
  it("the copy snapshotter has no merge capability: its snapshots are full trees", () => {
    expect(new CopySnapshotter(join(work, "copy")).merge).toBeUndefined();
  });

  it("a whole layer shared on a chain is the layer applied there, nothing copied", async () => {
    const root = join(work, "same");
    const s = new OverlaySnapshotter(root);
    await parentTree(s, "P");
    await layerTree(s, "l");
    const layer = await store(s, "l");
    await s.merge.commitLayer("L", "l");
    expect(meta(root, "L")).toEqual({ name: "L", whole: true });
    expect(await s.merge.commitMerged("M", "P", "L")).toBe(true);
    // a meta.json naming the layer: no directory of its own
    expect(meta(root, "M")).toEqual({ name: "M", parent: "P", lower: "L" });
    expect(readdirSync(join(root, "c", idOf("M")))).toEqual(["meta.json"]);
    expect(await s.exists("M")).toBe(true);
    expect(await s.parents("M")).toEqual(["P"]);
    expect(await s.merge.commitMerged("M", "P", "L")).toBe(true); // first wins: there already
    // the same layer applied to the same parent, as before merges
    await unpackLayer(s, "U", "P", layer);
    const [vm, vu] = [await s.view("vm", "M"), await s.view("vu", "U")];
    try {
      const merged = await tree(vm.root);
      expect(merged).toEqual(await tree(vu.root));
      expect(merged.filter((l) => /^(file|dir|symlink) (d|s|f|x|m)(\/|\s)/.test(l)).map((l) => l.split(" ").slice(0, 3).join(" "))).toEqual([
        "dir d 750", "file d/new 644", "file d/old 644", "dir f 755", "file f/g 644", "dir m 755", "file m/a 644", "file m/b 644",
        "dir s 755", "file s/in 644", "file x 644",
      ]);
      expect(statSync(join(vm.root, "h1")).ino).toBe(statSync(join(vm.root, "h2")).ino);
    } finally {
      await s.remove("vm");
      await s.remove("vu");
    }
    // the layer directories of the chain: the shared one first
    expect(await s.delta.layerDirs("M")).toEqual([join(root, "c", idOf("L"), "fs"), join(root, "c", idOf("P"), "fs")]);
    // a step on it diffs against the shared layer too (d/new is below, not in the new layer)
    const a = await s.prepare("on-m", "M");
    writeFileSync(join(a.root, "d/third"), "3");
    const entries: string[] = [];
    for await (const e of s.diff("on-m")) entries.push(`${e.type} ${e.path}`);
    expect(entries).toEqual(["dir d", "file d/third"]);
    await s.remove("on-m");
    expect(activeMounts()).toEqual([]);
  });

  it("refuses what would not be the layer: not marked whole, a .wh. name, an xattr, a parent, the directory twice in a chain", async () => {
    const root = join(work, "refuse");
    const s = new OverlaySnapshotter(root);
    await parentTree(s, "P");
    const made = async (name: string, write: (dir: string) => void, commit: "layer" | "plain" = "layer") => {
      const a = await s.prepare(`${name}-k`);
      write(a.root);
      await store(s, `${name}-k`);
      if (commit === "layer") await s.merge.commitLayer(name, `${name}-k`);
      else await s.commit(name, `${name}-k`);
    };
    await made("plain", (d) => writeFileSync(join(d, "a"), "a"), "plain");
    expect(await s.merge.commitMerged("M1", "P", "plain")).toBe(false);
    // a file named .wh.keep is a file here, a deletion of keep in the layer's tar
    await made("wh", (d) => writeFileSync(join(d, ".wh.keep"), ""));
    expect(meta(root, "wh").whole).toBeUndefined();
    expect(await s.merge.commitMerged("M2", "P", "wh")).toBe(false);
    await made("xattr", (d) => {
      writeFileSync(join(d, "a"), "a");
      execFileSync("setfattr", ["-n", "user.k", "-v", "v", join(d, "a")]);
    });
    expect(await s.merge.commitMerged("M3", "P", "xattr")).toBe(false);
    await made("ok", (d) => writeFileSync(join(d, "ok"), "ok"));
    expect(await s.merge.commitMerged("M4", "P", "ok")).toBe(true);
    // the layer already in the chain (overlayfs: "conflicting lowerdir path"); and a layer with a parent
    expect(await s.merge.commitMerged("M5", "M4", "ok")).toBe(false);
    expect(await s.merge.commitMerged("M6", "ok", "M4")).toBe(false);
    for (const n of ["M1", "M2", "M3", "M5", "M6"]) expect(await s.exists(n)).toBe(false);
    expect(activeMounts()).toEqual([]);
  });

  it("a layer unpacked on no parent is whole when it deletes nothing (what a deletion meant is lost on an empty tree)", async () => {
    const root = join(work, "unpacked");
    const s = new OverlaySnapshotter(root);
    await parentTree(s, "P");
    const a = await s.prepare("src");
    writeFileSync(join(a.root, "new"), "new");
    const plain = await store(s, "src");
    await s.remove("src");
    await unpackLayer(s, "plain", undefined, plain);
    expect(meta(root, "plain")).toEqual({ name: "plain", whole: true });
    expect(await s.merge.commitMerged("M1", "P", "plain")).toBe(true);
    // a layer deleting /keep, made on P, unpacked on nothing: not whole
    const b = await s.prepare("del", "P");
    rmSync(join(b.root, "keep"));
    writeFileSync(join(b.root, "other"), "other");
    const deleting = await store(s, "del");
    await s.remove("del");
    await unpackLayer(s, "deleting", undefined, deleting);
    expect(meta(root, "deleting").whole).toBeUndefined();
    expect(await s.merge.commitMerged("M2", "P", "deleting")).toBe(false);
    expect(activeMounts()).toEqual([]);
  });

  it("many merges on one chain: mounted as lowerdirs, flattened past the option limit (in the top snapshot's own directory)", async () => {
    const root = join(work, "many");
    const s = new OverlaySnapshotter(root, { maxMountOption: 200 });
    await parentTree(s, "P");
    let top = "P";
    for (let i = 0; i < 30; i++) {
      const a = await s.prepare(`l${i}`);
      mkdirSync(join(a.root, "d"));
      writeFileSync(join(a.root, `d/f${i}`), String(i));
      await store(s, `l${i}`);
      await s.merge.commitLayer(`L${i}`, `l${i}`);
      expect(await s.merge.commitMerged(`M${i}`, top, `L${i}`)).toBe(true);
      top = `M${i}`;
    }
    expect((await s.parents(top)).length).toBe(30);
    const a = await s.prepare("on-top", top);
    expect(readdirSync(join(a.root, "d")).sort()).toEqual(["old", ...Array.from({ length: 30 }, (_, i) => `f${i}`)].sort());
    expect(readFileSync(join(a.root, "d/f29"), "utf8")).toBe("29");
    expect(readFileSync(join(a.root, "keep"), "utf8")).toBe("keep");
    await s.remove("on-top");
    expect(existsSync(join(root, "c", idOf(top), "flat"))).toBe(true);
    for (let i = 0; i < 30; i++) expect(readdirSync(join(root, "c", idOf(`L${i}`)))).toEqual(["fs", "meta.json"]);
    expect(activeMounts()).toEqual([]);
  }, 120_000);

  it("a merge whose shared layer is gone (a prune that did not know) is not a snapshot, and is replaced when made again", async () => {
    const root = join(work, "dangling");
    const s = new OverlaySnapshotter(root);
    await parentTree(s, "P");
    const mk = async () => {
      const a = await s.prepare("l");
      writeFileSync(join(a.root, "n"), "n");
      await store(s, "l");
      await s.merge.commitLayer("L", "l");
    };
    await mk();
    expect(await s.merge.commitMerged("M", "P", "L")).toBe(true);
    rmSync(join(root, "c", idOf("L")), { recursive: true });
    expect(await s.exists("M")).toBe(false);
    await expect(s.prepare("k", "M")).rejects.toThrow(/snapshot L, the layer of snapshot M, does not exist/);
    await mk();
    expect(await s.merge.commitMerged("M", "P", "L")).toBe(true);
    expect(await s.exists("M")).toBe(true);
    const v = await s.view("v", "M");
    expect(readFileSync(join(v.root, "n"), "utf8")).toBe("n");
    await s.remove("v");
    expect(readdirSync(root).filter((n) => n.startsWith(".trash-") || n.startsWith(".commit-"))).toEqual([]);
    expect(activeMounts()).toEqual([]);
  });
});
