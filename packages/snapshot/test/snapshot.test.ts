import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { tarBytes, type LayerEntry } from "@tsbuild/oci";
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
    // remembered in the store for the next process (same file system, same kernel)
    const { readFileSync: read, statSync: st } = await import("node:fs");
    const { release } = await import("node:os");
    expect(read(join(work, "auto", "overlay-ok"), "utf8")).toBe(`${st(join(work, "auto", "tmp")).dev} ${release()}`);
    expect((await chooseSnapshotter(join(work, "auto"), "copy")).kind).toBe("copy");
    expect(existsSync(join(work, "auto/tmp"))).toBe(true);
  });
  it("auto falls back to copy where overlay cannot mount (a store on overlayfs), and that store works", async () => {
    // overlayfs refuses an upper dir on overlayfs: a store inside a container's root is such a place
    const base = join(work, "on-overlay");
    for (const d of ["lower", "upper", "work", "mnt"]) mkdirSync(join(base, d), { recursive: true });
    execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${base}/lower,upperdir=${base}/upper,workdir=${base}/work`, join(base, "mnt")]);
    try {
      const s = await chooseSnapshotter(join(base, "mnt/store"));
      expect(s.kind).toBe("copy");
      const a = await s.prepare("k");
      writeFileSync(join(a.root, "hello"), "hi");
      const entries: string[] = [];
      for await (const e of s.diff("k")) entries.push(`${e.type} ${e.path}`);
      expect(entries).toEqual(["file hello"]);
      await s.commit("c", "k");
      expect(await s.exists("c")).toBe(true);
      // the probe left nothing behind, and a store elsewhere still gets overlay
      expect(readdirSync(join(base, "mnt/store/tmp"))).toEqual([]);
      expect(activeMounts()).toEqual([]);
      expect((await chooseSnapshotter(join(work, "auto-elsewhere"))).kind).toBe("overlay");
    } finally {
      execFileSync("umount", [join(base, "mnt")]);
    }
  });
});

import { Readable } from "node:stream";
import { LocalContentStore, sha256Digest, writeLayer, type Digest, type LayerEntry, UnsafeLayerError } from "@tsbuild/oci";
import { Writable } from "node:stream";
import { LayerDiffIdMismatchError, LayerMissingError, unpackLayer, type LayerSource } from "../src/index.js";

async function tar(entries: LayerEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await writeLayer(entries, new Writable({ write(c, _e, cb) { chunks.push(c); cb(); } }));
  return Buffer.concat(chunks);
}
/** An uncompressed layer in memory: its digest is its diff id (unless the test says otherwise). */
const layerOf = (buf: Buffer, diffId: Digest = sha256Digest(buf)): LayerSource => ({
  digest: sha256Digest(buf), diffId, of: "image test:1", remedy: "pull or load the image again", open: () => Readable.from([buf]),
});
const t0 = new Date(0);
const file = (path: string, text: string): LayerEntry => ({ path, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: t0, size: text.length, open: () => Readable.from([Buffer.from(text)]) });

describe.each([["overlay"], ["copy"]] as const)("unpacking image layers (%s)", (kind) => {
  it("applies layers with whiteouts into a snapshot chain; a hostile layer leaves nothing", async () => {
    const s: Snapshotter = kind === "overlay" ? new OverlaySnapshotter(join(work, `unpack-${kind}`)) : new CopySnapshotter(join(work, `unpack-${kind}`));
    await unpackLayer(s, "L1", undefined, layerOf(await tar([{ path: "d", type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: t0 }, file("d/a", "a"), file("d/b", "b")])));
    await unpackLayer(s, "L2", "L1", layerOf(await tar([{ path: "d/a", type: "whiteout", mode: 0, uid: 0, gid: 0, mtime: t0 }, file("c", "c")])));
    const v = await s.view("v", "L2");
    expect(readdirSync(v.root).sort()).toEqual(["c", "d"]);
    expect(readdirSync(join(v.root, "d"))).toEqual(["b"]);
    await s.remove("v");
    const hostile = Buffer.from(await tar([file("x", "x")]));
    hostile.write("../../escape\0", 0, "latin1"); // rename the entry to climb out (and break the checksum)
    await expect(unpackLayer(s, "L3", "L2", layerOf(hostile))).rejects.toThrow();
    expect(await s.exists("L3")).toBe(false);
    expect(activeMounts()).toEqual([]);
    void UnsafeLayerError;
  });

  it("a layer whose diff id is not the config's is never committed under its chain name", async () => {
    const s: Snapshotter = kind === "overlay" ? new OverlaySnapshotter(join(work, `diffid-${kind}`)) : new CopySnapshotter(join(work, `diffid-${kind}`));
    const claimed = sha256Digest("another layer");
    const err = await unpackLayer(s, "W", undefined, layerOf(await tar([file("x", "x")]), claimed)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerDiffIdMismatchError);
    expect((err as Error).message).toMatch(/of image test:1 has diff id sha256:[0-9a-f]{64}, but the image config says sha256:.*the image is corrupt; pull or load the image again/);
    expect(await s.exists("W")).toBe(false);
    expect(readdirSync(join(work, `diffid-${kind}`, "a"))).toEqual([]);
    expect(activeMounts()).toEqual([]);
  });

  it("a layer missing from the content store is a typed error, not a crash, and leaves no snapshot", async () => {
    const s: Snapshotter = kind === "overlay" ? new OverlaySnapshotter(join(work, `missing-${kind}`)) : new CopySnapshotter(join(work, `missing-${kind}`));
    const content = new LocalContentStore(join(work, `missing-content-${kind}`));
    const digest = sha256Digest("gone");
    const err = await unpackLayer(s, "M", undefined, { ...layerOf(Buffer.from("gone")), open: () => content.reader(digest) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerMissingError);
    expect((err as Error).message).toBe(`layer ${digest} of image test:1 is missing from the store; pull or load the image again`);
    expect(await s.exists("M")).toBe(false);
    expect(activeMounts()).toEqual([]);
  });
});

describe("the snapshotters write the same layer", () => {
  /** A step on a base holding /d/a, /d/b and /gone/x: deletes, replaces a directory, adds. */
  async function layerOf(s: Snapshotter): Promise<{ entries: string[]; diffId: string }> {
    const base = await s.prepare("base", undefined);
    mkdirSync(join(base.root, "d"));
    writeFileSync(join(base.root, "d/a"), "a");
    writeFileSync(join(base.root, "d/b"), "b");
    mkdirSync(join(base.root, "gone"));
    writeFileSync(join(base.root, "gone/x"), "x");
    await s.commit("base-c", "base");
    const a = await s.prepare("step", "base-c");
    unlinkSync(join(a.root, "d/a"));
    rmSync(join(a.root, "gone"), { recursive: true });
    mkdirSync(join(a.root, "gone"));
    writeFileSync(join(a.root, "new"), "n");
    const entries: LayerEntry[] = [];
    for await (const e of s.diff("step")) entries.push(e);
    let bytes = Buffer.alloc(0); // the entries read their files as the tar is written
    for await (const b of tarBytes(entries, { sourceDateEpoch: 1_000_000_000 })) bytes = Buffer.concat([bytes, b]);
    await s.remove("step");
    return { entries: entries.map((e) => `${e.type} ${e.path}`), diffId: createHash("sha256").update(bytes).digest("hex") };
  }
  it("under SOURCE_DATE_EPOCH, overlay and copy give the same tar, whiteouts included", async () => {
    const o = await layerOf(new OverlaySnapshotter(join(work, "same-overlay")));
    const c = await layerOf(new CopySnapshotter(join(work, "same-copy")));
    expect(o.entries).toContain("whiteout d/a");
    expect(c.entries).toEqual(o.entries);
    expect(c.diffId).toBe(o.diffId);
    expect(activeMounts()).toEqual([]);
  });
});

describe("opaque directories in an overlay diff", () => {
  /** The diff of one step on a base holding /keep/old, /gone/old and the file /was-file. */
  async function diffOf(name: string, change: (root: string) => void): Promise<string[]> {
    const s = new OverlaySnapshotter(join(work, `opaque-${name}`));
    const base = await s.prepare("base", undefined);
    mkdirSync(join(base.root, "keep"));
    writeFileSync(join(base.root, "keep/old"), "o");
    mkdirSync(join(base.root, "gone"));
    writeFileSync(join(base.root, "gone/old"), "o");
    writeFileSync(join(base.root, "was-file"), "f");
    await s.commit("base-c", "base");
    const a = await s.prepare("step", "base-c");
    change(a.root);
    const out: string[] = [];
    for await (const e of s.diff("step")) out.push(`${e.type} ${e.path}`);
    await s.remove("step");
    expect(activeMounts()).toEqual([]);
    return out.sort();
  }

  it("new directories only (no getfattr is needed): no opaque entry", async () => {
    expect(await diffOf("new", (r) => mkdirSync(join(r, "app/sub"), { recursive: true }))).toEqual(["dir app", "dir app/sub"]);
  });
  it("a directory removed and made again is opaque; one made where a file was, too; a new one beside them is not", async () => {
    const entries = await diffOf("remade", (r) => {
      rmSync(join(r, "gone"), { recursive: true });
      mkdirSync(join(r, "gone"));
      writeFileSync(join(r, "gone/new"), "n");
      unlinkSync(join(r, "was-file"));
      mkdirSync(join(r, "was-file"));
      mkdirSync(join(r, "fresh"));
      writeFileSync(join(r, "keep/more"), "m");
    });
    expect(entries).toEqual(["dir fresh", "dir gone", "dir keep", "dir was-file", "file gone/new", "file keep/more", "opaque gone", "opaque was-file"]);
  });
});
