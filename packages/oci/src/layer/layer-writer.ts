/**
 * Writes a layer: a tar of LayerEntry in the order given (deterministic for a deterministic input),
 * hashed as it streams (diff id), optionally compressed and hashed again (blob digest). Entries
 * keep their metadata; with `sourceDateEpoch` every mtime is clamped to it. Whiteouts become
 * `dir/.wh.name`, opaque directories `dir/.wh..wh..opq`.
 */
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ContentStore, ContentWriter } from "../content-store.js";
import { DigestingStream, type Digest } from "../digest.js";
import { ociLayerMediaType, type LayerCompression } from "../media-types.js";
import type { Descriptor } from "../types/image.js";
import { OPAQUE_MARKER, WHITEOUT_PREFIX, type LayerEntry } from "./entry.js";
import { encodeHeader, padding, type TarHeader, type TarType } from "./tar-format.js";
import { compressStream } from "./compression.js";
import { Batcher } from "./batcher.js";

export interface LayerWriteOptions {
  compression?: LayerCompression;
  /** clamp mtimes to this (seconds since the epoch) */
  sourceDateEpoch?: number;
  /** compress on all cores (default true) */
  parallel?: boolean;
}

export interface LayerWriteResult {
  diffId: Digest;
  /** uncompressed size */
  size: number;
  /** the blob as written (equal to diffId when uncompressed) */
  digest: Digest;
  compressedSize: number;
  mediaType: string;
}

const TYPE: Record<string, TarType> = { file: "0", hardlink: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };

function dirOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i === -1 ? "" : p.slice(0, i + 1);
}
function baseOf(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

function headerFor(e: LayerEntry, epoch: number | undefined): TarHeader {
  let mtime = e.mtime;
  if (epoch !== undefined && mtime.getTime() > epoch * 1000) mtime = new Date(epoch * 1000);
  const pax = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(e.xattrs ?? {})) pax.set(`SCHILY.xattr.${k}`, v);
  let name = e.path;
  let type: TarType;
  let size = 0;
  if (e.type === "whiteout") {
    name = dirOf(e.path) + WHITEOUT_PREFIX + baseOf(e.path);
    type = "0";
  } else if (e.type === "opaque") {
    name = e.path.replace(/\/$/, "") + "/" + OPAQUE_MARKER;
    type = "0";
  } else {
    type = TYPE[e.type] as TarType;
    if (e.type === "dir") name = e.path.replace(/\/$/, "") + "/";
    if (e.type === "file") size = e.size ?? 0;
  }
  return {
    name,
    mode: e.type === "whiteout" || e.type === "opaque" ? 0 : e.mode,
    uid: e.type === "whiteout" || e.type === "opaque" ? 0 : e.uid,
    gid: e.type === "whiteout" || e.type === "opaque" ? 0 : e.gid,
    size,
    mtime,
    type,
    linkname: e.type === "symlink" || e.type === "hardlink" ? (e.linkname ?? "") : "",
    uname: e.uname ?? "",
    gname: e.gname ?? "",
    devmajor: e.devmajor ?? 0,
    devminor: e.devminor ?? 0,
    pax,
  };
}

/** Pieces at least this large are handed on as they are, not copied into a batch. */
const DIRECT = 64 * 1024;

/** Adds `b` to the batch, yielding what is full; a large piece goes on by itself (after the batch so far). */
function* piece(batch: Batcher, b: Buffer): Iterable<Buffer> {
  if (b.length >= DIRECT) {
    const before = batch.take();
    if (before) yield before;
    yield b;
    return;
  }
  const full = batch.add(b);
  if (full) yield full;
}

/**
 * The tar bytes of a stream of entries, in pieces of about 1 MiB: small entries batched together,
 * a large file's pieces as they were read (fresh buffers, so a consumer may keep them while it reads on).
 */
export async function* tarBytes(entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>, opts: { sourceDateEpoch?: number; end?: boolean } = {}): AsyncIterable<Buffer> {
  const batch = new Batcher();
  for await (const e of entries) {
    const h = headerFor(e, opts.sourceDateEpoch);
    yield* piece(batch, encodeHeader(h));
    if (h.type === "0" && h.size > 0) {
      if (e.read) {
        const b = e.read();
        if (b.length !== h.size) throw new Error(`${e.path} changed size while it was being archived (${b.length} of ${h.size} bytes)`);
        yield* piece(batch, b);
      } else {
        if (!e.open) throw new Error(`layer entry ${e.path} has no content`);
        let n = 0;
        for await (const chunk of e.open()) {
          const b = chunk as Buffer;
          n += b.length;
          if (n > h.size) throw new Error(`${e.path} grew while it was being archived (expected ${h.size} bytes)`);
          yield* piece(batch, b);
        }
        if (n !== h.size) throw new Error(`${e.path} shrank while it was being archived (${n} of ${h.size} bytes)`);
      }
      const pad = padding(h.size);
      if (pad) yield* piece(batch, Buffer.alloc(pad));
    }
  }
  if (opts.end !== false) batch.add(Buffer.alloc(1024)); // the end-of-archive marker
  const rest = batch.take();
  if (rest) yield rest;
}

export async function writeLayer(
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  out: Writable,
  opts: LayerWriteOptions = {},
): Promise<LayerWriteResult> {
  return writeLayerBytes(tarBytes(entries, opts), out, opts);
}

/** Writes a layer from its tar bytes (see patchLayer). */
export async function writeLayerBytes(bytes: AsyncIterable<Buffer>, out: Writable, opts: LayerWriteOptions = {}): Promise<LayerWriteResult> {
  const compression = opts.compression ?? "none";
  const tar = Readable.from(bytes, { objectMode: false });
  const diff = new DigestingStream();
  const tarHashed = tar.pipe(diff);
  tar.on("error", (e) => diff.destroy(e));
  if (compression === "none") {
    // the blob is the tar: one hash serves both digests
    await pipeline(tarHashed, out);
    return { diffId: diff.digest, size: diff.size, digest: diff.digest, compressedSize: diff.size, mediaType: ociLayerMediaType(compression) };
  }
  const blob = new DigestingStream();
  await pipeline(compressStream(tarHashed, compression, { parallel: opts.parallel ?? true }), blob, out);
  return {
    diffId: diff.digest,
    size: diff.size,
    digest: blob.digest,
    compressedSize: blob.size,
    mediaType: ociLayerMediaType(compression),
  };
}

/** Writes a layer straight into the content store. */
export async function storeLayer(
  store: ContentStore,
  entries: AsyncIterable<LayerEntry> | Iterable<LayerEntry>,
  opts: LayerWriteOptions = {},
): Promise<LayerWriteResult & { descriptor: Descriptor }> {
  return storeLayerBytes(store, tarBytes(entries, opts), opts);
}

/** Writes a layer from its tar bytes straight into the content store. */
export async function storeLayerBytes(
  store: ContentStore,
  bytes: AsyncIterable<Buffer>,
  opts: LayerWriteOptions = {},
): Promise<LayerWriteResult & { descriptor: Descriptor }> {
  const w = await store.writer("layer");
  if ((opts.compression ?? "none") === "none") return storeUncompressed(w, bytes);
  const { Writable } = await import("node:stream");
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      w.write(chunk).then(() => cb(), cb);
    },
  });
  try {
    const r = await writeLayerBytes(bytes, sink, opts);
    const info = await w.commit({ digest: r.digest, size: r.compressedSize });
    return { ...r, descriptor: { mediaType: r.mediaType, digest: info.digest, size: info.size } };
  } catch (e) {
    await w.abort();
    throw e;
  }
}

/**
 * Writes of an uncompressed layer that may be in flight at once (the thread pool writes while the tar
 * is read and hashed); with the writer's early fdatasync that is three of libuv's four threads.
 */
const WRITES_IN_FLIGHT = 2;

/**
 * An uncompressed layer is its tar: the content writer's one hash gives the diff id and the digest,
 * and the next pieces of the tar are read while the last ones are being written (each at its own
 * offset; one fsync at commit), without stream plumbing in between.
 */
async function storeUncompressed(w: ContentWriter, bytes: AsyncIterable<Buffer>): Promise<LayerWriteResult & { descriptor: Descriptor }> {
  const inFlight: Promise<void>[] = [];
  try {
    for await (const b of bytes) {
      if (inFlight.length >= WRITES_IN_FLIGHT) await inFlight.shift();
      const write = w.write(b); // tarBytes hands on fresh buffers: b is not reused while it is written
      // handled from now on: a write failing while the next piece is read (a full disk) must not be an
      // unhandled rejection, which ends the process; the awaits rethrow it into the catch below
      write.catch(() => undefined);
      inFlight.push(write);
    }
    await Promise.all(inFlight);
    const info = await w.commit();
    const mediaType = ociLayerMediaType("none");
    return { diffId: info.digest, size: info.size, digest: info.digest, compressedSize: info.size, mediaType, descriptor: { mediaType, digest: info.digest, size: info.size } };
  } catch (e) {
    await Promise.allSettled(inFlight);
    await w.abort();
    throw e;
  }
}
