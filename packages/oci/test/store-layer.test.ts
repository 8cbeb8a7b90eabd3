import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { open } from "node:fs/promises";
import { Store, storeLayer, storeLayerBytes, walkDirectory, writeLayer, type ContentStore, type LayerEntry } from "../src/index.js";

// storeLayer writes an uncompressed layer straight into the content store (one hash, one write in
// flight): the blob must be byte for byte the tar writeLayer streams, and a failure must leave nothing.
const work = mkdtempSync(join(tmpdir(), "tsbuild-store-layer-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function tree(): string {
  const root = join(work, "tree");
  mkdirSync(join(root, "big"), { recursive: true });
  mkdirSync(join(root, "small"), { recursive: true });
  // files larger than a read chunk and than the 1 MiB pieces, with odd sizes (tar padding)
  for (let i = 0; i < 5; i++) writeFileSync(join(root, "big", `f${i}`), randomBytes(3 * 1048576 + 1000 * i + 7));
  for (let i = 0; i < 300; i++) writeFileSync(join(root, "small", `s${i}`), randomBytes(i * 13));
  return root;
}

async function streamed(entries: AsyncIterable<LayerEntry>): Promise<Buffer> {
  const parts: Buffer[] = [];
  await writeLayer(entries, new Writable({ write(c: Buffer, _e, cb) { parts.push(c); cb(); } }), { compression: "none" });
  return Buffer.concat(parts);
}

describe("storeLayer, uncompressed", () => {
  const root = tree();
  it("stores exactly the tar writeLayer streams, its digest the diff id", async () => {
    const store = (await Store.open(join(work, "store1"))).content;
    const r = await storeLayer(store, walkDirectory(root), { compression: "none" });
    const tar = await streamed(walkDirectory(root));
    expect(r.size).toBe(tar.length);
    expect(r.digest).toBe(r.diffId);
    expect(r.descriptor).toEqual({ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: r.diffId, size: tar.length });
    expect((await store.readBytes(r.diffId)).equals(tar)).toBe(true);
  });

  it("a layer larger than the early-writeback step (several writes in flight, fdatasync under way) is still the tar byte for byte", async () => {
    const big = join(work, "tree-big");
    mkdirSync(big, { recursive: true });
    writeFileSync(join(big, "a"), randomBytes(40 * 1048576 + 3)); // 40 MiB: two early writebacks
    writeFileSync(join(big, "b"), randomBytes(5));
    const store = (await Store.open(join(work, "store-big"))).content;
    const r = await storeLayer(store, walkDirectory(big), { compression: "none" });
    const tar = await streamed(walkDirectory(big));
    expect(r.size).toBe(tar.length);
    expect((await store.readBytes(r.diffId)).equals(tar)).toBe(true);
  });

  it("the content writer: commit waits for writes still in flight; a failed early writeback fails the commit and leaves nothing", async () => {
    const store = await Store.open(join(work, "store-writer"));
    const parts = Array.from({ length: 4 }, (_, i) => randomBytes((1 << 20) + i));
    const w = await store.content.writer("overlapping");
    const writes = parts.map((p) => w.write(p)); // not awaited one by one
    const info = await w.commit();
    await Promise.all(writes);
    expect((await store.content.readBytes(info.digest)).equals(Buffer.concat(parts))).toBe(true);
    // the kernel reports a writeback error once per descriptor: the early fdatasync's must not be lost
    const probe = await open(join(work, "probe"), "w");
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const real = proto.datasync;
    proto.datasync = async () => {
      throw Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
    };
    try {
      const failing = await store.content.writer("writeback");
      for (let i = 0; i < 20; i++) await failing.write(Buffer.alloc(1 << 20, i)); // 20 MiB: one early writeback
      await expect(failing.commit()).rejects.toThrow(/EIO/);
    } finally {
      proto.datasync = real;
    }
    expect(readdirSync(join(store.root, "blobs", "sha256"))).toEqual([info.digest.slice("sha256:".length)]);
    expect(readdirSync(join(store.root, "blobs", "ingest"))).toEqual([]);
  });

  it("a large file read in pieces closes its descriptor when the reader stops half-way", async () => {
    const fds = () => readdirSync("/proc/self/fd").length;
    const before = fds();
    for await (const e of walkDirectory(root)) {
      if (e.path !== "big/f1") continue;
      expect(e.read).toBeUndefined(); // 3 MiB: read in pieces, not at once
      const pieces = e.open!() as Iterable<Buffer>;
      for (const p of pieces) {
        expect(p.length).toBe(1 << 20);
        break;
      }
    }
    expect(fds()).toBe(before);
  });

  it("a file that changes while it is archived fails the write and leaves no blob and no ingest file", async () => {
    const dir = join(work, "store2");
    const store = (await Store.open(dir)).content;
    async function* shrinking(): AsyncIterable<LayerEntry> {
      for await (const e of walkDirectory(root)) {
        if (e.path === "big/f3") truncateSync(join(root, "big/f3"), 10);
        yield e;
      }
    }
    await expect(storeLayer(store, shrinking(), { compression: "none" })).rejects.toThrow(/shrank|changed size/);
    expect(readdirSync(join(dir, "blobs", "sha256")).length).toBe(0);
    expect(readdirSync(join(dir, "blobs", "ingest"))).toEqual([]);
    expect(readFileSync(join(root, "big/f3")).length).toBe(10);
  });

  it("a write that fails while the next piece is being read (a full disk) fails the call, not the process, and leaves no ingest file", async () => {
    const store = await Store.open(join(work, "store-failing"));
    const real = store.content;
    const failing: ContentStore = Object.create(real) as ContentStore;
    failing.writer = async (ref, expected) => {
      const w = await real.writer(ref, expected);
      let n = 0;
      const write = w.write.bind(w);
      w.write = async (chunk) => {
        if (++n === 2) {
          await new Promise((r) => setTimeout(r, 5));
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        }
        return write(chunk);
      };
      return w;
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    try {
      async function* slowPieces() {
        for (let i = 0; i < 4; i++) {
          yield Buffer.alloc(512 * 4, i);
          await new Promise((r) => setTimeout(r, 50)); // the next piece takes a while: the write fails meanwhile
        }
        yield Buffer.alloc(1024);
      }
      await expect(storeLayerBytes(failing, slowPieces())).rejects.toThrow(/ENOSPC/);
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      expect(readdirSync(join(store.root, "blobs", "ingest"))).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
