/**
 * A layer made from an earlier layer with some paths replaced, without reading the unchanged files
 * again: the earlier layer's bytes stream through as they are (header, PAX records and body of
 * every kept entry), except the entries `drop` names, and the `fresh` entries are written in their
 * place, in walk order (byte order per path component, parents before children). Layers with
 * whiteouts, opaque directories, hard links or GNU/global headers are refused
 * (PatchUnsupportedError): the caller writes the layer in full instead.
 */
import { BLOCK, decodeBlock, padding, parsePax, TarFormatError } from "./tar-format.js";
import { OPAQUE_MARKER, WHITEOUT_PREFIX, type LayerEntry } from "./entry.js";
import { tarBytes } from "./layer-writer.js";
import { compareWalkOrder } from "./walk-directory.js";
import { Batcher } from "./batcher.js";

export class PatchUnsupportedError extends Error {
  override readonly name = "PatchUnsupportedError";
}

/** Output in batches of about this size; bodies are read in pieces of at most this size. */
const BATCH = 1 << 20;

class Chunks {
  private bufs: Buffer[] = [];
  private len = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Exactly n bytes; without a promise when they are already here (most headers and small bodies). */
  read(n: number): Buffer | Promise<Buffer> {
    return this.len >= n ? this.take(n) : this.fill(n);
  }

  private async fill(n: number): Promise<Buffer> {
    while (this.len < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.bufs.push(r.value);
        this.len += r.value.length;
      }
    }
    if (this.len < n) throw new TarFormatError("unexpected end of tar stream (truncated layer)");
    return this.take(n);
  }

  private take(n: number): Buffer {
    const first = this.bufs[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.bufs.shift();
      else this.bufs[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.bufs, this.len);
      out = all.subarray(0, n);
      this.bufs = all.length > n ? [all.subarray(n)] : [];
    }
    this.len -= n;
    return out;
  }
}

/** @param drop which of the earlier layer's paths to leave out (those replaced or removed) */
export async function* patchLayer(old: AsyncIterable<Buffer>, drop: (path: string) => boolean, fresh: readonly LayerEntry[], opts: { sourceDateEpoch?: number } = {}): AsyncIterable<Buffer> {
  const add = [...fresh].sort((a, b) => compareWalkOrder(a.path, b.path));
  let next = 0;
  const batch = new Batcher(BATCH);
  const push = (b: Buffer) => batch.add(b);
  async function* freshBefore(path: string | undefined): AsyncIterable<Buffer> {
    while (next < add.length && (path === undefined || compareWalkOrder((add[next] as LayerEntry).path, path) < 0)) {
      for await (const b of tarBytes([add[next++] as LayerEntry], { ...opts, end: false })) {
        const full = push(b);
        if (full) yield full;
      }
    }
  }

  const src = new Chunks(old);
  let prefix: Buffer[] = []; // PAX records of the entry that follows
  let paxPath: string | undefined;
  let paxSize: number | undefined;
  for (;;) {
    const b0 = src.read(BLOCK);
    const block = b0 instanceof Promise ? await b0 : b0; // (no await, no tick, when the bytes are here)
    const h = decodeBlock(block);
    if (!h) break; // the end-of-archive marker
    if (h.type === "x") {
      const d0 = src.read(h.size + padding(h.size));
      const data = d0 instanceof Promise ? await d0 : d0;
      const pax = parsePax(data.subarray(0, h.size));
      if (pax.has("path")) paxPath = pax.get("path")?.toString("utf8");
      if (pax.has("size")) paxSize = Number(pax.get("size")?.toString("utf8"));
      prefix.push(block, data);
      continue;
    }
    if (h.type === "g" || h.type === "L" || h.type === "K") throw new PatchUnsupportedError(`the layer has a tar header of type ${h.type}`);
    if (h.type === "1") throw new PatchUnsupportedError(`the layer has a hard link (${h.name})`);
    const path = (paxPath ?? h.name).replace(/^\.?\//, "").replace(/\/$/, "");
    const base = path.slice(path.lastIndexOf("/") + 1);
    if (base.startsWith(WHITEOUT_PREFIX) || base === OPAQUE_MARKER) throw new PatchUnsupportedError(`the layer has a whiteout (${path})`);
    const size = h.type === "0" || h.type === "7" ? (paxSize ?? h.size) : 0;
    if (next < add.length && compareWalkOrder((add[next] as LayerEntry).path, path) < 0) yield* freshBefore(path);
    const keep = !drop(path);
    if (keep) for (const b of [...prefix, block]) {
      const full = push(b);
      if (full) yield full;
    }
    for (let left = size + padding(size); left > 0;) {
      const p0 = src.read(Math.min(left, BATCH));
      const piece = p0 instanceof Promise ? await p0 : p0;
      left -= piece.length;
      if (!keep) continue;
      const full = push(piece);
      if (full) yield full;
    }
    prefix = [];
    paxPath = undefined;
    paxSize = undefined;
  }
  yield* freshBefore(undefined);
  push(Buffer.alloc(1024)); // the end-of-archive marker
  yield batch.take() as Buffer;
}
