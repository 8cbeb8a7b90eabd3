/**
 * The content store (DESIGN.md): blobs by sha256 under <root>/blobs/sha256/<hex>. Nothing else
 * writes there. A write goes to <root>/blobs/ingest/<random>, is hashed as it streams, verified
 * against the expected digest and size, fsync'd and renamed into place: a blob exists whole or not
 * at all, two writers of the same blob are safe (same bytes, atomic rename), and a reader never
 * sees a partial blob. A killed writer leaves only an ingest file, which is never trusted and is
 * cleaned by `cleanIngest()`.
 */
import { createReadStream, type ReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes, createHash, type Hash } from "node:crypto";
import { Readable } from "node:stream";
import { openFileReader, type BlobReader } from "./blob-reader.js";
import { digestHex, isDigest, type Digest } from "./digest.js";
import { BlobNotFoundError, DigestMismatchError, SizeMismatchError } from "./errors.js";
import { syncDir } from "./fs-atomic.js";
import { OwnerCheck, ownerStamp } from "./owner-stamp.js";

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface Expected {
  digest?: Digest;
  size?: number;
}

export interface ContentWriter {
  /** hashes `chunk` at once and writes it at its offset: the next write may start before this one ends */
  write(chunk: Uint8Array): Promise<void>;
  /** bytes given to write() so far (some may still be on their way to the file) */
  readonly offset: number;
  /** the digest of the bytes written so far (what commit will name the blob) */
  readonly digest: Digest;
  /** verify, fsync and rename into place; on mismatch the temp file is deleted and an error thrown */
  commit(expected?: Expected): Promise<BlobInfo>;
  abort(): Promise<void>;
}

/** A range of a blob's bytes: from `start` up to `end` (exclusive). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ContentStore {
  readonly root: string;
  info(digest: Digest): Promise<BlobInfo | undefined>;
  has(digest: Digest): Promise<boolean>;
  /** when the blob was last written (or refreshed by putBytes), in ms since the epoch; undefined when it is not in the store (prune keeps blobs written after the oldest live build began) */
  writtenAt(digest: Digest): Promise<number | undefined>;
  /** a stream of the blob's bytes, or of `range` of them; a missing blob is a BlobNotFoundError on the stream */
  reader(digest: Digest, range?: ByteRange): Readable;
  /** random access to the blob's bytes (close it after); a missing blob is a BlobNotFoundError */
  open(digest: Digest): Promise<BlobReader>;
  readBytes(digest: Digest): Promise<Buffer>;
  writer(ref: string, expected?: Expected): Promise<ContentWriter>;
  ingest(source: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expected?: Expected): Promise<BlobInfo>;
  putBytes(data: Uint8Array | string, expected?: Expected): Promise<BlobInfo>;
  delete(digest: Digest): Promise<void>;
  walk(): AsyncIterable<BlobInfo>;
  /** the blob's file: for packages/oci's own fast paths (copying whole blobs into an archive); other packages read through reader() and open() */
  blobPath(digest: Digest): string;
}

export class LocalContentStore implements ContentStore {
  constructor(readonly root: string) {}

  private get blobsDir(): string {
    return join(this.root, "blobs", "sha256");
  }
  private get ingestDir(): string {
    return join(this.root, "blobs", "ingest");
  }

  blobPath(digest: Digest): string {
    if (!isDigest(digest)) throw new BlobNotFoundError(digest);
    return join(this.blobsDir, digestHex(digest));
  }

  async info(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const s = await stat(this.blobPath(digest));
      return { digest, size: s.size };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.info(digest)) !== undefined;
  }

  async writtenAt(digest: Digest): Promise<number | undefined> {
    return (await stat(this.blobPath(digest)).catch(() => undefined))?.mtimeMs;
  }

  reader(digest: Digest, range?: ByteRange): Readable {
    if (range && range.end <= range.start) return Readable.from([]); // (createReadStream's end is inclusive: it cannot say "nothing")
    return wrapNotFound(createReadStream(this.blobPath(digest), range ? { start: range.start, end: range.end - 1 } : {}), digest);
  }

  async open(digest: Digest): Promise<BlobReader> {
    return notFoundAsBlob(digest, openFileReader(this.blobPath(digest)));
  }

  async readBytes(digest: Digest): Promise<Buffer> {
    return notFoundAsBlob(digest, readFile(this.blobPath(digest)));
  }

  async writer(ref: string, expected?: Expected): Promise<ContentWriter> {
    await mkdir(this.ingestDir, { recursive: true });
    await mkdir(this.blobsDir, { recursive: true });
    const safeRef = ref.replace(/[^a-zA-Z0-9_.-]/g, "_").slice(0, 80);
    const tmp = join(this.ingestDir, `${safeRef}-${ownerStamp()}-${randomBytes(8).toString("hex")}`);
    const fh = await open(tmp, "wx", 0o644);
    return new FileContentWriter(fh, tmp, this.blobsDir, expected);
  }

  async ingest(source: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>, expected?: Expected): Promise<BlobInfo> {
    const w = await this.writer("ingest", expected);
    try {
      for await (const chunk of source) await w.write(chunk as Uint8Array);
      return await w.commit(expected);
    } catch (e) {
      await w.abort();
      throw e;
    }
  }

  /**
   * Stores a small in-memory blob. When the store already has it (same digest and size: a rebuild
   * writing the same config or manifest again) only its mtime is refreshed, as a new write would
   * have done (prune keeps blobs written after the oldest live build started), and nothing is
   * rewritten or fsync'ed.
   */
  async putBytes(data: Uint8Array | string, expected?: Expected): Promise<BlobInfo> {
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    const digest: Digest = `sha256:${createHash("sha256").update(buf).digest("hex")}`;
    const matches = (expected?.digest === undefined || expected.digest === digest) && (expected?.size === undefined || expected.size === buf.length);
    if (matches && (await this.info(digest))?.size === buf.length) {
      const now = new Date();
      const touched = await utimes(this.blobPath(digest), now, now).then(() => true, () => false);
      if (touched) return { digest, size: buf.length };
    }
    return this.ingest([buf], expected);
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async *walk(): AsyncIterable<BlobInfo> {
    let names: string[];
    try {
      names = await readdir(this.blobsDir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    for (const n of names.sort()) {
      const d = `sha256:${n}`;
      if (!isDigest(d)) continue;
      const s = await stat(join(this.blobsDir, n)).catch(() => undefined);
      if (s) yield { digest: d, size: s.size };
    }
  }

  /**
   * Removes ingest files left by killed writers: those whose owner (stamped in the name,
   * owner-stamp.ts) is gone, and those without a stamp unless `onlyDead`. A live writer's file is
   * left alone, so this is safe while builds run. Returns what it freed.
   */
  async cleanIngest(owners = new OwnerCheck(), onlyDead = false): Promise<{ files: number; bytes: number }> {
    let names: string[] = [];
    try {
      names = await readdir(this.ingestDir);
    } catch {
      return { files: 0, bytes: 0 };
    }
    let files = 0;
    let bytes = 0;
    for (const n of names) {
      const state = owners.state(n);
      if (state === "live" || (onlyDead && state === "unowned")) continue;
      const s = await stat(join(this.ingestDir, n)).catch(() => undefined);
      await rm(join(this.ingestDir, n), { force: true });
      files++;
      bytes += s?.size ?? 0;
    }
    return { files, bytes };
  }
}

/** Turns the ENOENT of a missing blob's file into a BlobNotFoundError. */
async function notFoundAsBlob<T>(digest: Digest, op: Promise<T>): Promise<T> {
  try {
    return await op;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new BlobNotFoundError(digest);
    throw e;
  }
}

/** Turns the ENOENT of a missing blob into a BlobNotFoundError (on the stream). */
function wrapNotFound(s: ReadStream, digest: Digest): ReadStream {
  const orig = s.emit.bind(s);
  (s as unknown as { emit: (ev: string, ...a: unknown[]) => boolean }).emit = (ev: string, ...args: unknown[]) => {
    if (ev === "error" && (args[0] as NodeJS.ErrnoException)?.code === "ENOENT") return orig("error", new BlobNotFoundError(digest));
    return orig(ev, ...args);
  };
  return s;
}

/**
 * Every this many bytes a large blob's pages are sent to disk (fdatasync, not waited for) while it is
 * still being written: the disk works while the next pieces are made, and commit's fsync finds
 * little left (a 200 MB layer: 100 ms → 5 ms at commit, ~80 ms less in all).
 */
const EARLY_WRITEBACK = 16 << 20;

class FileContentWriter implements ContentWriter {
  private readonly hash: Hash = createHash("sha256");
  private written = 0;
  private done = false;
  private unsynced = 0;
  /** writes and the early fdatasync still running: commit and abort wait for them */
  private readonly running = new Set<Promise<void>>();
  private writeback = false;
  /** the first write or writeback that failed: the blob is not committed then */
  private failure: unknown;

  constructor(
    private readonly fh: FileHandle,
    private readonly tmp: string,
    private readonly blobsDir: string,
    private readonly expected: Expected | undefined,
  ) {}

  /** bytes given to write() so far (some may still be on their way to the file) */
  get offset(): number {
    return this.written;
  }

  get digest(): Digest {
    return `sha256:${this.hash.copy().digest("hex")}`;
  }

  /** Runs an operation on the file that commit and abort wait for; its failure fails the commit. */
  private track(op: Promise<void>): Promise<void> {
    const p = op.catch((e: unknown) => {
      this.failure ??= e;
      throw e;
    });
    const settled = p.then(() => undefined, () => undefined);
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return p;
  }

  /** Each chunk is written at its own offset, so a caller may start the next write before this one ends. */
  async write(chunk: Uint8Array): Promise<void> {
    this.hash.update(chunk);
    const at = this.written;
    this.written += chunk.length;
    const max = this.expected?.size;
    if (max !== undefined && this.written > max) {
      throw new SizeMismatchError(max, this.written);
    }
    await this.track((async () => {
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off, at + off);
        off += bytesWritten;
      }
    })());
    this.unsynced += chunk.length;
    if (this.unsynced >= EARLY_WRITEBACK && !this.writeback && !this.done) {
      this.unsynced = 0;
      this.writeback = true;
      // not waited for here; a failure is kept and fails the commit (the kernel reports a writeback
      // error once per descriptor: commit's own fsync would not see it again)
      this.track(this.fh.datasync()).catch(() => undefined).finally(() => (this.writeback = false));
    }
  }

  /** Waits for every write and writeback still running; throws the first that failed. */
  private async settle(): Promise<void> {
    while (this.running.size) await Promise.all(this.running);
    if (this.failure !== undefined) throw this.failure;
  }

  async commit(expected?: Expected): Promise<BlobInfo> {
    const exp = { ...this.expected, ...expected };
    try {
      await this.settle();
      const digest: Digest = `sha256:${this.hash.digest("hex")}`;
      if (exp.size !== undefined && exp.size !== this.written) throw new SizeMismatchError(exp.size, this.written);
      if (exp.digest !== undefined && exp.digest !== digest) throw new DigestMismatchError(exp.digest, digest);
      await this.fh.sync();
      await this.fh.close();
      this.done = true;
      await rename(this.tmp, join(this.blobsDir, digestHex(digest)));
      await syncDir(this.blobsDir);
      return { digest, size: this.written };
    } catch (e) {
      await this.abort();
      throw e;
    }
  }

  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.settle().catch(() => undefined); // never closes the descriptor under a running write
      await this.fh.close().catch(() => undefined);
    }
    await rm(this.tmp, { force: true });
  }
}
