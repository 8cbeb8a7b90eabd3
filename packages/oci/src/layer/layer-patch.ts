/**
 * A layer made from an earlier (uncompressed) layer file with some paths replaced, without reading
 * the unchanged files again: only the tar headers are parsed, and the earlier layer's bytes go out
 * as large ranges (header, PAX records and body of every kept entry) read straight from the
 * store's blob (ContentStore.open, a random-access reader: never a file path here), except the entries `drop` names; the `fresh` entries are written in their place, in walk order
 * (byte order per path component, parents before children). Layers with whiteouts, opaque
 * directories, hard links or GNU/global headers are refused (PatchUnsupportedError): the caller
 * writes the layer in full instead.
 */
import { createHash } from "node:crypto";
import { openFileReader, type BlobReader } from "../blob-reader.js";
import type { ContentStore } from "../content-store.js";
import type { Digest } from "../digest.js";
import type { StoredLayer } from "../image-writer.js";
import { layerCompression, ociLayerMediaType } from "../media-types.js";
import type { Descriptor } from "../types/image.js";
import { BLOCK, padding, parsePax, readNumber, readString, TarFormatError, ZERO_BLOCK } from "./tar-format.js";
import { OPAQUE_MARKER, WHITEOUT_PREFIX, type LayerEntry } from "./entry.js";
import { tarBytes } from "./layer-writer.js";
import { compareWalkOrder } from "./walk-directory.js";

export class PatchUnsupportedError extends Error {
  override readonly name = "PatchUnsupportedError";
}

/** The earlier layer is read in pieces of this size (each piece a new buffer: what is handed out stays valid). */
const CHUNK = 4 << 20;

/** One entry of the earlier layer: its path and where its bytes (PAX records included) end. */
/** an entry of the earlier layer: its path, its mtime (whole seconds, as the header has it) and where it ends */
type Parsed = { path: string; mtime: number; end: number } | "end" | "more";

/** Which of the earlier layer's entries to leave out; it may throw to give the patch up. */
export type PatchDrop = (path: string, mtime: number) => boolean;

/**
 * The entry whose headers start at `at` in `buf` (at file offset `pos`); "more" when they do not
 * fit in it. Only what placing the entry needs is decoded (this runs for every entry of a large
 * layer, mostly before the JIT has warmed up): name, type, size; the layer is a blob of the store,
 * verified by its digest, so the header checksums are not summed again.
 */
function parseEntry(buf: Buffer, at: number, pos: number): Parsed {
  let o = at;
  let paxPath: string | undefined;
  let paxSize: number | undefined;
  let paxMtime: number | undefined;
  for (;;) {
    if (o + BLOCK > buf.length) return "more";
    if (buf[o] === 0 && buf.compare(ZERO_BLOCK, 0, BLOCK, o, o + BLOCK) === 0) {
      if (o !== at) throw new TarFormatError("PAX header without an entry");
      return "end";
    }
    if (buf[o + 257] !== 0x75 || buf.toString("latin1", o + 257, o + 262) !== "ustar") throw new PatchUnsupportedError("the layer has a header that is not USTAR");
    const type = String.fromCharCode(buf[o + 156] as number);
    const headerSize = readNumber(buf, o + 124, 12);
    if (type === "x") {
      const len = headerSize + padding(headerSize);
      if (o + BLOCK + len > buf.length) return "more";
      const pax = parsePax(buf.subarray(o + BLOCK, o + BLOCK + headerSize));
      if (pax.has("path")) paxPath = pax.get("path")?.toString("utf8");
      if (pax.has("size")) paxSize = Number(pax.get("size")?.toString("utf8"));
      if (pax.has("mtime")) paxMtime = Math.floor(Number(pax.get("mtime")?.toString("utf8")));
      o += BLOCK + len;
      continue;
    }
    let name = paxPath;
    if (name === undefined) {
      name = readString(buf, o, 100);
      if (buf[o + 345] !== 0 && buf[o + 262] === 0) name = `${readString(buf, o + 345, 155)}/${name}`; // "ustar\0": POSIX prefix
    }
    if (type === "g" || type === "L" || type === "K") throw new PatchUnsupportedError(`the layer has a tar header of type ${type}`);
    if (type === "1") throw new PatchUnsupportedError(`the layer has a hard link (${name})`);
    let a = 0;
    let b = name.length;
    if (name.startsWith("./")) a = 2;
    else if (name.startsWith("/")) a = 1;
    if (b > a && name.charCodeAt(b - 1) === 0x2f) b--;
    const path = a === 0 && b === name.length ? name : name.slice(a, b);
    const base = path.slice(path.lastIndexOf("/") + 1);
    if (base.startsWith(WHITEOUT_PREFIX) || base === OPAQUE_MARKER) throw new PatchUnsupportedError(`the layer has a whiteout (${path})`);
    const size = type === "0" || type === "\0" || type === "7" ? (paxSize ?? headerSize) : 0;
    const mtime = paxMtime ?? readNumber(buf, o + 136, 12);
    return { path, mtime, end: pos + (o - at) + BLOCK + size + padding(size) };
  }
}

async function* tagged(bytes: AsyncIterable<Buffer>): AsyncIterable<Piece> {
  for await (const b of bytes) yield { bytes: b };
}

/**
 * The bytes of the patched layer, in pieces.
 * @param old the earlier layer (an uncompressed tar): a reader of its bytes (left open: its opener
 *   closes it), or (tests) the path of a file holding them
 * @param drop which of the earlier layer's paths to leave out (those replaced or removed); it is
 *   given each entry's mtime too, and may throw to give the patch up
 */
export async function* patchLayer(
  old: BlobReader | string, drop: PatchDrop, fresh: readonly LayerEntry[], opts: PatchOptions = {},
): AsyncIterable<Buffer> {
  const reader = typeof old === "string" ? await openFileReader(old) : old;
  try {
    for await (const p of patchPieces(reader, drop, fresh, opts)) yield p.bytes;
  } finally {
    if (reader !== old) await reader.close();
  }
}

type PatchOptions = { sourceDateEpoch?: number; /** (tests) */ readSize?: number };

/** A piece of the patched layer: bytes of the earlier layer (from its offset `at`) or fresh ones. */
interface Piece {
  bytes: Buffer;
  at?: number;
}

async function* patchPieces(old: BlobReader, drop: PatchDrop, fresh: readonly LayerEntry[], opts: PatchOptions): AsyncIterable<Piece> {
  const { readSize = CHUNK, ...tarOpts } = opts;
  const add = [...fresh].sort((a, b) => compareWalkOrder(a.path, b.path));
  let next = 0;
  const freshBefore = (path: string | undefined) => {
    const out: LayerEntry[] = [];
    while (next < add.length && (path === undefined || compareWalkOrder((add[next] as LayerEntry).path, path) < 0)) out.push(add[next++] as LayerEntry);
    return out.length ? tagged(tarBytes(out, { ...tarOpts, end: false })) : undefined;
  };
  let start = 0; // where the piece in `buf` starts in the earlier layer
  let pos = 0; // the next entry's first header
  let keepFrom = 0; // the start of the kept bytes not handed out yet
  let size = readSize;
  for (let ended = false; !ended;) {
    const asked = size;
    const buf = await old.read(start, asked);
    size = readSize;
    if (buf.length === 0) throw new TarFormatError("unexpected end of tar stream (truncated layer)");
    const end = start + buf.length;
    const kept = function* (upTo: number) {
      if (keepFrom < upTo) yield { bytes: buf.subarray(keepFrom - start, upTo - start), at: keepFrom };
      keepFrom = Math.max(keepFrom, upTo);
    };
    while (pos < end) {
      const e = parseEntry(buf, pos - start, pos);
      if (e === "more") {
        if (pos === start) {
          if (buf.length < asked) throw new TarFormatError("unexpected end of tar stream (truncated layer)");
          size = asked * 2; // headers larger than a piece (long PAX records): a larger one
        }
        break;
      }
      if (e === "end") {
        ended = true;
        break;
      }
      const before = freshBefore(e.path);
      if (before) {
        yield* kept(pos);
        yield* before;
      }
      if (drop(e.path, e.mtime)) {
        yield* kept(pos);
        keepFrom = e.end;
      }
      pos = e.end;
    }
    yield* kept(Math.min(pos, end));
    // the next piece: from the entry that did not fit, or on through a body (skipped when dropped)
    start = pos < end || keepFrom >= pos ? pos : end;
  }
  const rest = freshBefore(undefined);
  if (rest) yield* rest;
  yield { bytes: Buffer.alloc(1024) }; // the end-of-archive marker
}

/** Fresh bytes kept in memory from the digest pass to the write (beyond it: one pass that writes as it goes). */
const KEEP_FRESH = 16 << 20;

/**
 * The patched layer of the uncompressed layer `old`, into the store. Its digest is known as soon as
 * the bytes are hashed (one pass over the earlier layer's blob); writing them into the store and
 * making them durable goes on in `committed`, so that the build can go on meanwhile (the next step
 * needs the snapshot, not the blob): wait for it before anything reads the blob. Until then the blob
 * is not in the store; a killed build leaves at most an ingest file.
 */
export async function storePatchedLayer(
  store: ContentStore, old: Descriptor, drop: PatchDrop, fresh: readonly LayerEntry[], opts: { sourceDateEpoch?: number } = {},
): Promise<{ layer: StoredLayer; committed: Promise<void> }> {
  if (layerCompression(old.mediaType) !== "none") throw new PatchUnsupportedError(`the layer is compressed (${old.mediaType})`);
  const reader = await store.open(old.digest);
  // the reader serves both passes: closed when the blob is written, or at once on a failure
  try {
    const out = await patchInto(store, reader, drop, fresh, opts);
    void out.committed.then(() => reader.close(), () => reader.close()).catch(() => undefined);
    return out;
  } catch (e) {
    await reader.close();
    throw e;
  }
}

async function patchInto(
  store: ContentStore, old: BlobReader, drop: PatchDrop, fresh: readonly LayerEntry[], opts: { sourceDateEpoch?: number },
): Promise<{ layer: StoredLayer; committed: Promise<void> }> {
  const done = (digest: Digest, size: number, committed: Promise<void>) => {
    committed.catch(() => undefined); // (seen by whoever waits for it; not an unhandled rejection meanwhile)
    return { layer: { descriptor: { mediaType: ociLayerMediaType("none"), digest, size }, diffId: digest }, committed };
  };
  if (fresh.reduce((n, e) => n + (e.size ?? 0), 0) > KEEP_FRESH) {
    const w = await store.writer("layer");
    try {
      for await (const p of patchPieces(old, drop, fresh, opts)) await w.write(p.bytes);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return done(w.digest, w.offset, w.commit({ digest: w.digest, size: w.offset }).then(() => undefined));
  }
  // the digest; what to write: ranges of the earlier layer, and the fresh bytes
  const hash = createHash("sha256");
  let size = 0;
  const plan: (Buffer | { from: number; to: number })[] = [];
  for await (const p of patchPieces(old, drop, fresh, opts)) {
    hash.update(p.bytes);
    size += p.bytes.length;
    const last = plan[plan.length - 1];
    if (p.at === undefined) plan.push(p.bytes);
    else if (last && !Buffer.isBuffer(last) && last.to === p.at) last.to += p.bytes.length;
    else plan.push({ from: p.at, to: p.at + p.bytes.length });
  }
  const digest: Digest = `sha256:${hash.digest("hex")}`;
  return done(digest, size, writePlan(store, old, plan, { digest, size }));
}

/** Writes the planned bytes into the store; the writer verifies them against the digest of the first pass. */
async function writePlan(store: ContentStore, old: BlobReader, plan: (Buffer | { from: number; to: number })[], expected: { digest: Digest; size: number }): Promise<void> {
  const w = await store.writer("layer", expected);
  try {
    for (const item of plan) {
      if (Buffer.isBuffer(item)) {
        await w.write(item);
        continue;
      }
      for (let at = item.from; at < item.to;) {
        const buf = await old.read(at, Math.min(CHUNK, item.to - at));
        if (buf.length === 0) throw new TarFormatError("the earlier layer shrank while it was patched");
        await w.write(buf);
        at += buf.length;
      }
    }
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
}
