/**
 * Names of NAME_MAX (255 bytes), as docker handles them: a 255-byte file name and a 255-byte
 * directory name in an image's layer survive load, a build FROM it (COPY of a 255-byte name from
 * the context, RUN touch of another), and every export (oci, docker, local, tar). Nothing may
 * append a suffix to such a name (there is no room for one).
 */
import { afterAll, describe, expect, it } from "vitest";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  decompressStream, readArchive, readTar, resolveImage, storeLayer, Store, writeDockerArchive, writeImage, writeOciLayout,
  type LayerEntry, type StoredLayer,
} from "@tsbuild/oci";
import { build } from "../src/index.js";
import { mountsUnder, putBusyboxBase } from "./helpers/store-fixtures.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-long-names-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const name255 = (c: string) => c.repeat(255);
const DIR = name255("d");
const FILE = name255("f");
const COPIED = name255("c");
const TOUCHED = name255("t");
expect(Buffer.byteLength(DIR)).toBe(255);

const t0 = new Date(0);
const longLayer: LayerEntry[] = [
  { path: DIR, type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: t0 },
  { path: `${DIR}/${FILE}`, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: t0, size: 5, open: () => Readable.from([Buffer.from("deep\n")]) },
  { path: FILE, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: t0, size: 4, open: () => Readable.from([Buffer.from("top\n")]) },
];

/** The names in an image's layers, in order. */
async function layerNames(store: Store, target: Parameters<typeof resolveImage>[1]): Promise<string[]> {
  const img = await resolveImage(store.content, target);
  const out: string[] = [];
  for (const l of img.manifest.layers) {
    for await (const e of readTar(await decompressStream(store.content.reader(l.digest)))) {
      out.push(e.header.name.replace(/\/$/, ""));
      for await (const _ of e.body()) void _;
    }
  }
  return out;
}

/** A store with `long:1` (busybox + a layer with the 255-byte names) loaded from an OCI layout made in another store. */
async function storeWithLongImage(dir: string): Promise<Store> {
  const src = await putBusyboxBase(join(dir, "src"), dir);
  const base = await resolveImage(src.content, (await src.images.get("base:1"))!.target);
  const baseLayers: StoredLayer[] = base.manifest.layers.map((d, i) => ({ descriptor: d, diffId: base.config.rootfs.diff_ids[i]! }));
  const long = await storeLayer(src.content, longLayer);
  const img = await writeImage(src.content, { ...base.config, rootfs: { type: "layers", diff_ids: [] } }, [...baseLayers, long]);
  const layout = join(dir, "long.oci.tar");
  await writeOciLayout(src.content, [{ name: "long:1", target: img.manifest }], layout, { tar: true });
  const store = await Store.open(join(dir, "store"));
  const loaded = await readArchive(store.content, layout);
  await store.images.putAll(loaded.map((l) => ({ name: l.name!, target: l.target })));
  return store;
}

describe("255-byte names", () => {
  it("survive load and re-export of the image as an OCI layout", async () => {
    const dir = join(work, "load");
    const store = await storeWithLongImage(dir);
    const rec = await store.images.get("long:1");
    expect(await layerNames(store, rec!.target)).toEqual(expect.arrayContaining([DIR, `${DIR}/${FILE}`, FILE]));
    // written to 255-byte file names: the temp file beside each has a short name of its own
    const oci = join(dir, name255("o"));
    const docker = join(dir, name255("k"));
    await writeOciLayout(store.content, [{ name: "long:1", target: rec!.target }], oci, { tar: true });
    await writeDockerArchive(store.content, [{ name: "long:1", target: rec!.target }], docker, await store.tmpDir("save-"));
    for (const archive of [oci, docker]) {
      const other = await Store.open(join(dir, `other-${archive.slice(-1)}`));
      const [back] = await readArchive(other.content, archive);
      expect(await layerNames(other, back!.target)).toEqual(expect.arrayContaining([DIR, `${DIR}/${FILE}`, FILE]));
    }
    expect(readdirSync(dir).filter((n) => n.startsWith(".tsbuild-"))).toEqual([]);
  });

  describe.each([["overlay"], ["copy"]] as const)("build (%s)", (snapshotter) => {
    /** Builds `dockerfile` on `store` with a 255-byte file in its context, into every output under `out`. */
    async function buildAll(store: Store, dir: string, dockerfile: string[], outputs: ("oci" | "docker" | "local" | "tar")[]) {
      const ctx = join(dir, "ctx");
      mkdirSync(ctx, { recursive: true });
      writeFileSync(join(ctx, COPIED), "copied\n");
      writeFileSync(join(ctx, "Dockerfile"), dockerfile.join("\n"));
      const out = join(dir, "out");
      mkdirSync(out);
      const specs = {
        oci: { type: "oci", dest: join(out, name255("o")), tar: true }, docker: { type: "docker", dest: join(out, name255("k")) },
        local: { type: "local", dest: join(out, "rootfs") }, tar: { type: "tar", dest: join(out, "rootfs.tar") },
      } as const;
      await build({
        context: ctx, root: store.root, snapshotter, platform: { os: "linux", architecture: "amd64" }, tags: ["built:1"],
        outputs: [{ type: "image" }, ...outputs.map((o) => specs[o])],
      });
      expect(mountsUnder(store.root)).toEqual([]);
      expect(readdirSync(out).filter((n) => n.startsWith(".tsbuild-"))).toEqual([]);
      return { oci: specs.oci.dest, docker: specs.docker.dest, local: specs.local.dest, tar: specs.tar.dest };
    }
    /** The image in the store, and the OCI and docker archives read back, hold `want`. */
    async function expectInImages(store: Store, dir: string, archives: string[], want: string[]) {
      expect(await layerNames(store, (await store.images.get("built:1"))!.target)).toEqual(expect.arrayContaining(want));
      for (const [i, archive] of archives.entries()) {
        const other = await Store.open(join(dir, `back-${i}`));
        const [back] = await readArchive(other.content, archive);
        expect(await layerNames(other, back!.target)).toEqual(expect.arrayContaining(want));
      }
    }

    it("COPY and RUN touch of 255-byte names, FROM a plain base: the image, OCI and docker exports keep them", async () => {
      const dir = join(work, `plain-${snapshotter}`);
      const store = await putBusyboxBase(join(dir, "store"), dir);
      const out = await buildAll(store, dir, ["FROM base:1", `COPY ${COPIED} /${DIR}/`, `RUN touch /${DIR}/${TOUCHED} /${TOUCHED} && ls /${DIR} > /seen`], ["oci", "docker"]);
      await expectInImages(store, dir, [out.oci, out.docker], [`${DIR}/${COPIED}`, `${DIR}/${TOUCHED}`, TOUCHED]);
    }, 120_000);

    it("FROM an image with them (unpacked), COPY and RUN touch more; local and tar exports too", async () => {
      const dir = join(work, snapshotter);
      const store = await storeWithLongImage(dir);
      const out = await buildAll(store, dir, [
        "FROM long:1", `COPY ${COPIED} /${DIR}/`, `RUN touch /${DIR}/${TOUCHED} /${TOUCHED} && cat /${DIR}/${FILE} /${FILE} > /seen`,
      ], ["oci", "docker", "local", "tar"]);
      const want = [`${DIR}/${FILE}`, FILE, `${DIR}/${COPIED}`, `${DIR}/${TOUCHED}`, TOUCHED];
      await expectInImages(store, dir, [out.oci, out.docker], want);
      expect(readFileSync(join(out.local, "seen"), "utf8")).toBe("deep\ntop\n");
      for (const p of want) expect(existsSync(join(out.local, p))).toBe(true);
      const inTar: string[] = [];
      for await (const e of readTar(createReadStream(out.tar))) {
        inTar.push(e.header.name.replace(/^\.?\//, "").replace(/\/$/, ""));
        for await (const _ of e.body()) void _;
      }
      expect(inTar).toEqual(expect.arrayContaining(want));
    }, 120_000);
  });
});
