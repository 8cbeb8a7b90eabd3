/**
 * `tsbuild load` of hostile or damaged archives: every image is verified (each blob against its
 * digest, each layer's diff id against the config's, as many layers as diff ids, manifests and
 * configs that parse) before any name is written. A refused archive names nothing, leaves no blob
 * that does not match its digest and no ingest file, and never touches anything outside the store
 * (a canary directory beside it). The archives are made here, byte by byte.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { createWriteStream, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { gzipSync } from "node:zlib";
import { MediaTypes, sha256Digest, Store, TarWriter, writeLayer, type Digest, type LayerEntry } from "@tsbuild/oci";
import { runCli } from "./helpers/run-cli.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-load-verify-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// ---- a canary outside the store: its names, contents, modes and times must never change
const canary = join(work, "canary");
mkdirSync(join(canary, "sub"), { recursive: true });
writeFileSync(join(canary, "motd"), "host file\n");
writeFileSync(join(canary, "sub", "secret"), "do not read\n");
function canaryState(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      out.push(`${p} ${st.mode} ${st.mtimeMs} ${st.isFile() ? readFileSync(p, "utf8") : ""}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(canary);
  return out.join("\n");
}
const canaryBefore = canaryState();

// ---- images, made by hand
const t0 = new Date(0);
const file = (path: string, text: string): LayerEntry => ({ path, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: t0, size: Buffer.byteLength(text), open: () => Readable.from([Buffer.from(text)]) });
async function layerTar(entries: LayerEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await writeLayer(entries, new Writable({ write(c, _e, cb) { chunks.push(c); cb(); } }));
  return Buffer.concat(chunks);
}
const hex = (d: string) => d.slice(7);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

interface Image {
  /** blob bytes by digest */
  blobs: Map<Digest, Buffer>;
  config: Buffer;
  manifest: Buffer;
  layers: Buffer[];
  diffIds: Digest[];
}

/** An OCI image of these layers (plain or gzip), its config naming `diffIds` (their real ones by default). */
function image(layers: Buffer[], opts: { gzip?: boolean; diffIds?: Digest[]; config?: Buffer; manifest?: Buffer } = {}): Image {
  const stored = layers.map((l) => (opts.gzip ? gzipSync(l) : l));
  const diffIds = opts.diffIds ?? layers.map((l) => sha256Digest(l));
  const config = opts.config ?? json({ architecture: "amd64", os: "linux", config: { Cmd: ["sh"] }, rootfs: { type: "layers", diff_ids: diffIds } });
  const manifest = opts.manifest ?? json({
    schemaVersion: 2, mediaType: MediaTypes.OCI_MANIFEST,
    config: { mediaType: MediaTypes.OCI_CONFIG, digest: sha256Digest(config), size: config.length },
    layers: stored.map((b) => ({ mediaType: opts.gzip ? MediaTypes.OCI_LAYER_GZIP : MediaTypes.OCI_LAYER_TAR, digest: sha256Digest(b), size: b.length })),
  });
  const blobs = new Map<Digest, Buffer>([[sha256Digest(config), config], [sha256Digest(manifest), manifest], ...stored.map((b) => [sha256Digest(b), b] as const)]);
  return { blobs, config, manifest, layers: stored, diffIds };
}

function indexOf(images: { name: string; img: Image }[]): Buffer {
  return json({
    schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX,
    manifests: images.map(({ name, img }) => ({
      mediaType: MediaTypes.OCI_MANIFEST, digest: sha256Digest(img.manifest), size: img.manifest.length,
      annotations: { "io.containerd.image.name": `docker.io/library/${name}`, "org.opencontainers.image.ref.name": name.split(":")[1] },
    })),
  });
}

let n = 0;
/** An OCI layout directory; `blob` may change what is written for a digest (undefined: left out). */
function layoutDir(images: { name: string; img: Image }[], blob: (d: Digest, b: Buffer) => Buffer | undefined = (_d, b) => b, index = indexOf(images)): string {
  const dir = join(work, `layout-${n++}`);
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), index);
  for (const { img } of images) {
    for (const [d, b] of img.blobs) {
      const out = blob(d, b);
      if (out) writeFileSync(join(dir, "blobs", "sha256", hex(d)), out);
    }
  }
  return dir;
}

async function tarOf(members: [string, Buffer][]): Promise<string> {
  const path = join(work, `archive-${n++}.tar`);
  const out = createWriteStream(path);
  const w = new TarWriter(out);
  for (const [name, b] of members) await w.bytes(name, b);
  await w.finish();
  await new Promise((r) => out.end(r));
  return path;
}

/** The same layout as a tar. */
function layoutTar(images: { name: string; img: Image }[], blob: (d: Digest, b: Buffer) => Buffer | undefined = (_d, b) => b): Promise<string> {
  const members: [string, Buffer][] = [["oci-layout", json({ imageLayoutVersion: "1.0.0" })], ["index.json", indexOf(images)]];
  for (const { img } of images) for (const [d, b] of img.blobs) {
    const out = blob(d, b);
    if (out) members.push([`blobs/sha256/${hex(d)}`, out]);
  }
  return tarOf(members);
}

/** A docker-archive (docker save, before docker 25): <config hex>.json, <id>/layer.tar, manifest.json. */
function dockerArchive(name: string, img: Image, opts: { configName?: string; skipLayer?: number; manifestJson?: Buffer } = {}): Promise<string> {
  const configName = opts.configName ?? `${hex(sha256Digest(img.config))}.json`;
  const layerNames = img.layers.map((_l, i) => `${hex(sha256Digest(`layer ${i}`))}/layer.tar`);
  const members: [string, Buffer][] = [[configName, img.config]];
  img.layers.forEach((l, i) => { if (i !== opts.skipLayer) members.push([layerNames[i]!, l]); });
  members.push(["manifest.json", opts.manifestJson ?? json([{ Config: configName, RepoTags: [name], Layers: layerNames }])]);
  return tarOf(members);
}

// ---- loading, and what a refused load must leave
let stores = 0;
async function load(archive: string): Promise<{ code: number; err: string; out: string; root: string }> {
  const root = join(work, `store-${stores++}`);
  const r = await runCli(["load", "--root", root, "-i", archive], { cwd: work });
  return { ...r, root };
}

/** Nothing named, only blobs whose bytes match their digest, no ingest file, the canary as it was. */
async function expectNothingLoaded(root: string): Promise<void> {
  const store = await Store.open(root);
  expect(await store.images.list()).toEqual([]);
  for await (const b of store.content.walk()) {
    expect(`sha256:${createHash("sha256").update(await store.content.readBytes(b.digest)).digest("hex")}`).toBe(b.digest);
  }
  expect(readdirSync(join(root, "blobs", "ingest"))).toEqual([]);
  expect(canaryState()).toBe(canaryBefore);
}

const one = await layerTar([file("etc/hello", "hello\n")]);
const two = await layerTar([file("etc/second", "second\n")]);

describe("load accepts good archives", () => {
  it("an OCI layout (directory and tar) and a docker-archive, plain and gzip layers, are loaded and named", async () => {
    for (const archive of [layoutDir([{ name: "ok:1", img: image([one, two]) }]), await layoutTar([{ name: "ok:1", img: image([one, two], { gzip: true }) }]), await dockerArchive("ok:1", image([one, two]))]) {
      const r = await load(archive);
      expect(r.err).toBe("");
      expect(r.out).toBe("Loaded image: ok:1\n");
      const store = await Store.open(r.root);
      expect((await store.images.list()).map((i) => i.name)).toEqual(["docker.io/library/ok:1"]);
    }
    expect(canaryState()).toBe(canaryBefore);
  });
});

describe("load refuses a damaged or hostile archive before naming anything", () => {
  const refused = async (archive: string, message: RegExp) => {
    const r = await load(archive);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(r.out).toBe("");
    await expectNothingLoaded(r.root);
    return r;
  };
  const missing = (img: Image, i: number) => (d: Digest, b: Buffer) => (d === sha256Digest(img.layers[i]!) ? undefined : b);

  it("an OCI layout directory without a layer blob", async () => {
    const img = image([one, two]);
    await refused(layoutDir([{ name: "bad:1", img }], missing(img, 1)), new RegExp(`image docker.io/library/bad:1 of the archive is corrupt: its layer ${sha256Digest(two)} is missing; nothing was loaded`));
  });
  it("an OCI layout tar without a layer blob", async () => {
    const img = image([one, two], { gzip: true });
    await refused(await layoutTar([{ name: "bad:1", img }], missing(img, 0)), /its layer sha256:[0-9a-f]{64} is missing/);
  });
  it("an OCI layout tar without its config", async () => {
    const img = image([one]);
    await refused(await layoutTar([{ name: "bad:1", img }], (d, b) => (b === img.config ? undefined : b)), /its config sha256:[0-9a-f]{64} is missing/);
  });
  it("an OCI layout tar without the manifest its index names", async () => {
    const img = image([one]);
    await refused(await layoutTar([{ name: "bad:1", img }], (d, b) => (b === img.manifest ? undefined : b)), /its manifest sha256:[0-9a-f]{64} is missing/);
  });
  it("a layer blob whose bytes are not its digest (tar and directory)", async () => {
    const img = image([one, two]);
    const tamper = (d: Digest, b: Buffer) => (d === sha256Digest(two) ? Buffer.concat([b.subarray(0, 512), Buffer.from("evil"), b.subarray(516)]) : b);
    await refused(await layoutTar([{ name: "bad:1", img }], tamper), /content digest mismatch/);
    await refused(layoutDir([{ name: "bad:1", img }], tamper), /content digest mismatch/);
  });
  it("a layer that is not the one the config's diff id names (plain and gzip)", async () => {
    await refused(layoutDir([{ name: "bad:1", img: image([one, two], { diffIds: [sha256Digest(one), sha256Digest(one)] }) }]), /layer sha256:[0-9a-f]{64} has diff id sha256:[0-9a-f]{64}, but its config says/);
    await refused(await layoutTar([{ name: "bad:1", img: image([one, two], { gzip: true, diffIds: [sha256Digest(two), sha256Digest(one)] }) }]), /has diff id .* but its config says/);
  });
  it("more layers than diff ids, and fewer", async () => {
    await refused(layoutDir([{ name: "bad:1", img: image([one, two], { diffIds: [sha256Digest(one)] }) }]), /its manifest has 2 layers but its config 1 diff ids/);
    await refused(layoutDir([{ name: "bad:1", img: image([one], { diffIds: [sha256Digest(one), sha256Digest(two)] }) }]), /its manifest has 1 layers but its config 2 diff ids/);
  });
  it("a gzip layer that is cut short", async () => {
    const good = image([one, two], { gzip: true });
    const cut = good.layers[1]!.subarray(0, good.layers[1]!.length - 12);
    const img = image([one, two], { gzip: true });
    // the manifest names the cut blob (so its digest matches): only decompressing shows it
    const manifest = json({ ...JSON.parse(img.manifest.toString()), layers: [JSON.parse(img.manifest.toString()).layers[0], { mediaType: MediaTypes.OCI_LAYER_GZIP, digest: sha256Digest(cut), size: cut.length }] });
    const bad = { ...img, manifest, layers: [img.layers[0]!, cut], blobs: new Map<Digest, Buffer>([[sha256Digest(img.config), img.config], [sha256Digest(manifest), manifest], [sha256Digest(img.layers[0]!), img.layers[0]!], [sha256Digest(cut), cut]]) };
    await refused(layoutDir([{ name: "bad:1", img: bad }]), /layer sha256:[0-9a-f]{64} does not decompress/);
  });
  it("a manifest or config that does not parse, and an index.json that does not", async () => {
    const notJson = Buffer.from("{ not json");
    await refused(layoutDir([{ name: "bad:1", img: image([one], { manifest: notJson }) }]), /manifest sha256:[0-9a-f]{64} does not parse/);
    await refused(layoutDir([{ name: "bad:1", img: image([one], { config: json({ architecture: "amd64", os: "linux" }) }) }]), /config sha256:[0-9a-f]{64} does not parse/);
    await refused(layoutDir([{ name: "bad:1", img: image([one]) }], undefined, notJson), /index.json of the archive does not parse/);
  });
  it("a descriptor whose size is not its blob's", async () => {
    const img = image([one]);
    const m = JSON.parse(img.manifest.toString());
    m.layers[0].size += 1;
    await refused(layoutDir([{ name: "bad:1", img: image([one], { manifest: json(m) }) }]), /has \d+ bytes, but its descriptor says \d+/);
  });
  it("a blob that is a symbolic link out of the layout (to the canary) is not followed", async () => {
    const img = image([one]);
    const dir = layoutDir([{ name: "bad:1", img }]);
    const blob = join(dir, "blobs", "sha256", hex(sha256Digest(one)));
    rmSync(blob);
    symlinkSync(join(canary, "sub", "secret"), blob);
    const r = await refused(dir, /is a symbolic link/);
    expect(r.err).not.toContain(canary);
    const blobsDir = join(dir, "blobs");
    rmSync(blobsDir, { recursive: true });
    symlinkSync(canary, blobsDir);
    await refused(dir, /blobs in the image layout is not a directory/);
  });
  it("two images, one good and one bad: neither is named", async () => {
    const bad = image([two], { diffIds: [sha256Digest(one)] });
    await refused(layoutDir([{ name: "good:1", img: image([one]) }, { name: "bad:1", img: bad }]), /image docker.io\/library\/bad:1 of the archive is corrupt/);
  });
  it("a docker-archive whose layer does not match the config's diff id", async () => {
    await refused(await dockerArchive("bad:1", image([one, two], { diffIds: [sha256Digest(one), sha256Digest(one)] })), /image bad:1 of the archive is corrupt: layer sha256:[0-9a-f]{64} has diff id/);
  });
  it("a docker-archive whose gzip layer.tar does not decompress to the config's diff id", async () => {
    const img = image([one, two], { gzip: true, diffIds: [sha256Digest(one), sha256Digest(one)] });
    await refused(await dockerArchive("bad:1", img), /has diff id/);
  });
  it("a docker-archive whose config is not the digest its name says", async () => {
    const img = image([one]);
    await refused(await dockerArchive("bad:1", img, { configName: `${hex(sha256Digest("another config"))}.json` }), /content digest mismatch/);
  });
  it("a docker-archive without a layer it lists, or more layers than diff ids", async () => {
    await refused(await dockerArchive("bad:1", image([one, two]), { skipLayer: 1 }), /its layer [0-9a-f]{64}\/layer.tar is not in the archive/);
    await refused(await dockerArchive("bad:1", image([one, two], { diffIds: [sha256Digest(one)] })), /2 layers but its config 1 diff ids/);
  });
  it("a docker-archive whose manifest.json is corrupt", async () => {
    const img = image([one]);
    await refused(await dockerArchive("bad:1", img, { manifestJson: Buffer.from("[{") }), /manifest.json of the archive does not parse/);
    await refused(await dockerArchive("bad:1", img, { manifestJson: json([{ Config: 7, Layers: "x" }]) }), /manifest.json of the archive is not a list of/);
  });
});

describe("import refuses what is not a whole tar before naming anything", () => {
  const imported = async (tarball: Buffer) => {
    const root = join(work, `store-${stores++}`);
    const r = await runCli(["import", "--root", root, "-", "imp:1"], { cwd: work, stdin: tarball });
    return { ...r, root };
  };
  it("a tarball cut short, plain or gzip, garbage, and a bad header checksum", async () => {
    const truncated = one.subarray(0, 700);
    const badSum = Buffer.from(one);
    badSum.write("x", 0, "latin1");
    for (const t of [truncated, gzipSync(truncated), Buffer.alloc(4096, 7), badSum]) {
      const r = await imported(t);
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/the tarball on standard input is not a whole tar archive \(.*\): nothing was imported/);
      await expectNothingLoaded(r.root);
    }
  });
  it("a whole tar (and its gzip) is imported, its digest its diff id", async () => {
    for (const t of [one, gzipSync(one)]) {
      const r = await imported(t);
      expect(r.err).toBe("");
      const store = await Store.open(r.root);
      const rec = await store.images.get("imp:1");
      const m = JSON.parse((await store.content.readBytes(rec!.target.digest)).toString());
      expect(m.layers[0].digest).toBe(sha256Digest(one));
    }
  });
});
