/** Reading parts of a blob through the content store (reader with a range, open): never through its file's path. */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobNotFoundError, LocalContentStore, sha256Digest } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-blob-reader-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = () => new LocalContentStore(join(work, `root-${n++}`));
const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));

async function all(s: AsyncIterable<unknown>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of s) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe("random access to a blob (open)", () => {
  it("reads any range, short only at the blob's end, each read a buffer of its own", async () => {
    const s = fresh();
    const { digest } = await s.putBytes(data);
    const r = await s.open(digest);
    try {
      expect(r.size).toBe(data.length);
      const a = await r.read(0, 512);
      const b = await r.read(9_000, 512);
      expect(a.equals(data.subarray(0, 512))).toBe(true); // still valid after the next read
      expect(b.equals(data.subarray(9_000, 9_512))).toBe(true);
      expect((await r.read(9_900, 512)).equals(data.subarray(9_900))).toBe(true);
      expect((await r.read(data.length, 512)).length).toBe(0);
      expect((await r.read(20_000, 1)).length).toBe(0);
      expect((await r.read(3, 0)).length).toBe(0);
    } finally {
      await r.close();
    }
  });
  it("a missing blob is a BlobNotFoundError, an invalid digest too", async () => {
    const s = fresh();
    await expect(s.open(sha256Digest("absent"))).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(s.open("sha256:nope" as never)).rejects.toBeInstanceOf(BlobNotFoundError);
  });
  it("a blob deleted while open is still read whole (the reader holds it)", async () => {
    const s = fresh();
    const { digest } = await s.putBytes(data);
    const r = await s.open(digest);
    await s.delete(digest);
    expect((await r.read(0, data.length)).equals(data)).toBe(true);
    await r.close();
  });
});

describe("a stream of part of a blob (reader with a range)", () => {
  it("gives bytes [start, end): the whole blob, a middle, the last byte, nothing", async () => {
    const s = fresh();
    const { digest } = await s.putBytes(data);
    expect((await all(s.reader(digest))).equals(data)).toBe(true);
    expect((await all(s.reader(digest, { start: 100, end: 5_000 }))).equals(data.subarray(100, 5_000))).toBe(true);
    expect((await all(s.reader(digest, { start: data.length - 1, end: data.length }))).equals(data.subarray(-1))).toBe(true);
    expect((await all(s.reader(digest, { start: 7, end: 7 }))).length).toBe(0);
  });
  it("a missing blob is a BlobNotFoundError on the stream", async () => {
    const s = fresh();
    await expect(all(s.reader(sha256Digest("absent"), { start: 0, end: 10 }))).rejects.toBeInstanceOf(BlobNotFoundError);
  });
});

describe("writtenAt", () => {
  it("is the blob's last write (putBytes of the same bytes refreshes it), undefined when absent", async () => {
    const s = fresh();
    const { digest } = await s.putBytes("x");
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(s.blobPath(digest), old, old);
    expect(Math.abs(((await s.writtenAt(digest)) as number) - old.getTime())).toBeLessThan(1); // (mtimeMs is a float: 1.999 for 2)
    await s.putBytes("x");
    expect((await s.writtenAt(digest)) as number).toBeGreaterThan(Date.now() - 60_000);
    expect(await s.writtenAt(sha256Digest("absent"))).toBeUndefined();
  });
});
