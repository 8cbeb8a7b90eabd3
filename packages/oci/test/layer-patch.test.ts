/** patchLayer: an earlier layer with paths dropped and fresh entries put in walk order equals the layer written in full. */
import { describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { patchLayer, PatchUnsupportedError, readTar, tarBytes, type LayerEntry } from "../src/index.js";

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
    const patched = await bytes(patchLayer(Readable.from([old]), (p) => dropped.has(p), [file("a/1", "ONE", 0o600), dir("a/new"), file("a/new/n", "n"), file("y", "y")]));
    expect(await names(patched)).toEqual(await names(await bytes(tarBytes(after))));
    expect(patched.equals(await bytes(tarBytes(after)))).toBe(true);
  });
  it("refuses a layer with a whiteout (the caller writes it in full)", async () => {
    const old = await bytes(tarBytes([dir("a"), { path: "a/gone", type: "whiteout", mode: 0, uid: 0, gid: 0, mtime: t }]));
    await expect(bytes(patchLayer(Readable.from([old]), () => false, []))).rejects.toBeInstanceOf(PatchUnsupportedError);
  });
});
