/** patchLayer: an earlier layer with paths dropped and fresh entries put in walk order equals the layer written in full. */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import { LocalContentStore, MediaTypes, patchLayer, PatchUnsupportedError, readTar, storePatchedLayer, tarBytes, type LayerEntry } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-layer-patch-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let files = 0;
/** The layer as a file (patchLayer reads the earlier layer from its file). */
function fileOf(tar: Buffer): string {
  const p = join(work, `layer-${files++}.tar`);
  writeFileSync(p, tar);
  return p;
}

const t = new Date("2021-01-01T00:00:00Z");
const dir = (path: string): LayerEntry => ({ path, type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: t });
const file = (path: string, body: string, mode = 0o644): LayerEntry => ({ path, type: "file", mode, uid: 0, gid: 0, mtime: t, size: Buffer.byteLength(body), read: () => Buffer.from(body) });
const long = `deep/${"x".repeat(120)}/f`; // a PAX path record travels with its entry

async function bytes(src: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of src) parts.push(b);
  return Buffer.concat(parts);
}

async function names(tar: Buffer): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readTar(Readable.from([tar]))) out.push(e.header.name);
  return out;
}

describe("patchLayer", () => {
  const before = [dir("a"), file("a/1", "one"), file("a/2", "two"), dir("a-b"), file("a-b/x", "x"), dir("deep"), dir(`deep/${"x".repeat(120)}`), file(long, "long"), file("z", "z")];
  it("gives the bytes of the full layer: a replaced file, a removed one, new ones in walk order, a long name kept", async () => {
    const after = [dir("a"), file("a/1", "ONE", 0o600), dir("a/new"), file("a/new/n", "n"), dir("a-b"), file("a-b/x", "x"), dir("deep"), dir(`deep/${"x".repeat(120)}`), file(long, "long"), file("y", "y"), file("z", "z")];
    const old = await bytes(tarBytes(before));
    const dropped = new Set(["a/1", "a/2"]);
    const patched = await bytes(patchLayer(fileOf(old), (p) => dropped.has(p), [file("a/1", "ONE", 0o600), dir("a/new"), file("a/new/n", "n"), file("y", "y")]));
    expect(await names(patched)).toEqual(await names(await bytes(tarBytes(after))));
    expect(patched.equals(await bytes(tarBytes(after)))).toBe(true);
  });
  it("the same across read boundaries: headers, PAX records and bodies cut anywhere, kept or dropped", async () => {
    const entries: LayerEntry[] = [dir("d")];
    const names = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? `d/${"n".repeat(110)}${String(i).padStart(3, "0")}` : `d/f${String(i).padStart(3, "0")}`)).sort(); // walk order
    names.forEach((n, i) => entries.push(file(n, "x".repeat((i * 997) % 3000))));
    const replaced = new Set(entries.filter((_, i) => i % 5 === 1 || i % 11 === 0).map((e) => e.path));
    const fresh = entries.filter((e) => replaced.has(e.path)).map((e) => (e.type === "file" ? file(e.path, `new ${e.path}`, 0o600) : e));
    const after = entries.map((e) => fresh.find((f) => f.path === e.path) ?? e);
    const old = fileOf(await bytes(tarBytes(entries)));
    const want = await bytes(tarBytes(after));
    for (const readSize of [512, 1536, 4096, 65536]) {
      const patched = await bytes(patchLayer(old, (p) => replaced.has(p), fresh, { readSize }));
      expect(patched.equals(want), `read size ${readSize}`).toBe(true);
    }
  });
  it("storePatchedLayer: the digest of the full layer at once, the blob in the store once committed", async () => {
    const store = new LocalContentStore(join(work, "store"));
    const before = [dir("a"), file("a/1", "one"), file("a/2", "x".repeat(5000)), file("b", "b")];
    const old = await store.putBytes(await bytes(tarBytes(before)));
    const want = await bytes(tarBytes([dir("a"), file("a/1", "ONE"), file("a/2", "x".repeat(5000)), file("b", "b")]));
    const digest = `sha256:${createHash("sha256").update(want).digest("hex")}`;
    const { layer, committed } = await storePatchedLayer(store, { mediaType: MediaTypes.OCI_LAYER_TAR, ...old }, (p) => p === "a/1", [file("a/1", "ONE")]);
    expect(layer).toEqual({ descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest, size: want.length }, diffId: digest });
    await committed;
    expect((await store.readBytes(layer.descriptor.digest)).equals(want)).toBe(true);
    await expect(storePatchedLayer(store, { mediaType: MediaTypes.OCI_LAYER_GZIP, ...old }, () => false, [])).rejects.toBeInstanceOf(PatchUnsupportedError);
  });
  it("a truncated layer is an error, whatever the read size", async () => {
    const full = await bytes(tarBytes([dir("a"), file("a/1", "x".repeat(3000)), file("a/2", "two")]));
    for (const cut of [700, 2000, 4000]) {
      for (const readSize of [512, 65536]) await expect(bytes(patchLayer(fileOf(full.subarray(0, cut)), () => false, [], { readSize }))).rejects.toThrow(/truncated/);
    }
  });
  it("refuses a layer with a whiteout (the caller writes it in full)", async () => {
    const old = await bytes(tarBytes([dir("a"), { path: "a/gone", type: "whiteout", mode: 0, uid: 0, gid: 0, mtime: t }]));
    await expect(bytes(patchLayer(fileOf(old), () => false, []))).rejects.toBeInstanceOf(PatchUnsupportedError);
  });
});
