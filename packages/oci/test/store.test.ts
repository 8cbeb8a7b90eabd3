import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  BlobNotFoundError, DigestMismatchError, InvalidContentError, LocalContentStore, MediaTypes, SizeMismatchError, Store,
  familiarName, normalizeName, parseManifest, parseReference, readArchive, sha256Digest, writeDockerArchive, writeImage, writeOciLayout,
  storeLayer, resolveImage,
} from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-store-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const freshRoot = () => join(work, `root-${n++}`);

describe("content store", () => {
  it("stores, reads and lists a blob", async () => {
    const s = new LocalContentStore(freshRoot());
    const info = await s.putBytes("hello");
    expect(info).toEqual({ digest: sha256Digest("hello"), size: 5 });
    expect((await s.readBytes(info.digest)).toString()).toBe("hello");
    expect(await s.info(info.digest)).toEqual(info);
    const all = [];
    for await (const b of s.walk()) all.push(b);
    expect(all).toEqual([info]);
  });
  it("a digest or size mismatch stores nothing and leaves no temp file", async () => {
    const root = freshRoot();
    const s = new LocalContentStore(root);
    await expect(s.putBytes("hello", { digest: sha256Digest("other") })).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(s.putBytes("hello", { size: 4 })).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(s.putBytes("hello", { size: 6 })).rejects.toBeInstanceOf(SizeMismatchError);
    expect(readdirSync(join(root, "blobs/sha256"))).toEqual([]);
    expect(readdirSync(join(root, "blobs/ingest"))).toEqual([]);
  });
  it("two writers of the same blob at once are safe", async () => {
    const s = new LocalContentStore(freshRoot());
    const data = Buffer.alloc(4 << 20, 3);
    const chunks = (): Readable => Readable.from(Array.from({ length: 64 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536)));
    const [a, b] = await Promise.all([s.ingest(chunks()), s.ingest(chunks())]);
    expect(a).toEqual(b);
    expect((await s.readBytes(a.digest)).equals(data)).toBe(true);
  });
  it("a missing blob is a BlobNotFoundError", async () => {
    const s = new LocalContentStore(freshRoot());
    const d = sha256Digest("absent");
    await expect(s.readBytes(d)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(new Promise((resolve, reject) => s.reader(d).on("error", reject).on("data", resolve))).rejects.toBeInstanceOf(BlobNotFoundError);
  });
});

describe("documents are validated", () => {
  it("rejects malformed manifests clearly", () => {
    expect(() => parseManifest("{")).toThrow(InvalidContentError);
    expect(() => parseManifest(JSON.stringify({ schemaVersion: 2, config: { mediaType: "x", digest: "sha256:12", size: 1 }, layers: [] }))).toThrow(/bad digest/);
    expect(() => parseManifest(JSON.stringify({ schemaVersion: 1 }))).toThrow(/schemaVersion/);
  });
});

describe("references", () => {
  it("normalise as docker does", () => {
    expect(normalizeName("busybox")).toBe("docker.io/library/busybox:latest");
    expect(normalizeName("me/app:1")).toBe("docker.io/me/app:1");
    expect(normalizeName("localhost:5000/app")).toBe("localhost:5000/app:latest");
    expect(parseReference("127.0.0.1:5000/a/b:t@sha256:" + "a".repeat(64))).toMatchObject({ domain: "127.0.0.1:5000", path: "a/b", tag: "t" });
    expect(familiarName("docker.io/library/busybox:latest")).toBe("busybox:latest");
    expect(() => parseReference("app/UPPER")).toThrow(/invalid image reference/);
  });
});

async function smallImage(store: Store, name: string, text: string) {
  const layer = await storeLayer(store.content, [
    { path: "hello.txt", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: text.length, open: () => Readable.from([Buffer.from(text)]) },
  ]);
  const img = await writeImage(store.content, { architecture: "amd64", os: "linux", config: { Cmd: ["sh"] } }, [layer]);
  await store.images.put(name, img.manifest);
  return img;
}

describe("image names, leases and garbage collection", () => {
  it("names protect their blobs; gc removes the rest; leases protect work in progress", async () => {
    const store = await Store.open(freshRoot());
    const img = await smallImage(store, "app:1", "one");
    const stray = await store.content.putBytes("stray");
    const leased = await store.content.putBytes("leased");
    await store.putLease({ id: "build-1", digests: [leased.digest] });
    const removed = await store.gc();
    expect(removed.map((b) => b.digest)).toEqual([stray.digest]);
    expect(await store.content.has(img.config.digest)).toBe(true);
    expect(await store.content.has(leased.digest)).toBe(true);
    await store.removeLease("build-1");
    await store.images.remove("app:1");
    await store.gc();
    const left = [];
    for await (const b of store.content.walk()) left.push(b);
    expect(left).toEqual([]);
  });
  it("concurrent name updates do not lose each other", async () => {
    const store = await Store.open(freshRoot());
    const img = await smallImage(store, "base", "x");
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.images.put(`img${i}:t`, img.manifest)));
    expect((await store.images.list()).length).toBe(21);
  });
  it("check finds corrupt blobs and names with missing blobs, and repairs", async () => {
    const store = await Store.open(freshRoot());
    const img = await smallImage(store, "app", "data");
    writeFileSync(store.content.blobPath(img.config.digest), "tampered");
    const r = await store.check(false);
    expect(r.corrupt).toEqual([img.config.digest]);
    const fixed = await store.check(true);
    expect(fixed.missing.map((m) => m.digest)).toContain(img.config.digest);
    expect(await store.images.get("app")).toBeUndefined();
    expect((await store.check(false)).corrupt).toEqual([]);
  });
});

describe("archives round trip", () => {
  it("OCI layout (tar and directory) and docker-archive read back to the same image", async () => {
    const store = await Store.open(freshRoot());
    const img = await smallImage(store, "localhost:5000/app:2", "payload");
    const images = [{ name: "localhost:5000/app:2", target: img.manifest }];
    const ociTar = join(work, "app.oci.tar");
    const ociDir = join(work, "app.oci");
    const dockerTar = join(work, "app.docker.tar");
    await writeOciLayout(store.content, images, ociTar, { tar: true });
    await writeOciLayout(store.content, images, ociDir, { tar: false });
    await writeDockerArchive(store.content, images, dockerTar, await store.tmpDir());
    expect(JSON.parse(readFileSync(join(ociDir, "index.json"), "utf8")).manifests[0].annotations).toEqual({
      "io.containerd.image.name": "localhost:5000/app:2",
      "org.opencontainers.image.ref.name": "2",
    });
    for (const file of [ociTar, ociDir, dockerTar]) {
      const other = await Store.open(freshRoot());
      const [loaded] = await readArchive(other.content, file);
      expect(normalizeName(loaded!.name!)).toBe("localhost:5000/app:2");
      const a = await resolveImage(store.content, img.manifest);
      const b = await resolveImage(other.content, loaded!.target);
      expect(b.manifest.config.digest).toBe(a.manifest.config.digest);
      expect(b.config.rootfs.diff_ids).toEqual(a.config.rootfs.diff_ids);
    }
    expect(readdirSync(work).filter((n) => n.startsWith(".tsbuild-"))).toEqual([]); // no temp file left beside the archives
    void MediaTypes;
  });
  it("a corrupted archive blob is refused and not stored", async () => {
    const store = await Store.open(freshRoot());
    const img = await smallImage(store, "app", "payload");
    const dir = join(work, "corrupt.oci");
    await writeOciLayout(store.content, [{ name: "app", target: img.manifest }], dir, { tar: false });
    writeFileSync(join(dir, "blobs/sha256", img.config.digest.slice(7)), "not the config");
    const other = await Store.open(freshRoot());
    await expect(readArchive(other.content, dir)).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await other.content.has(img.config.digest)).toBe(false);
  });
});
