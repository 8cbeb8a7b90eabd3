/**
 * A streaming tar reader: yields each entry's header (PAX and GNU long names applied) and lets the
 * caller consume its body as chunks before asking for the next entry. Never buffers a file.
 */
import { BLOCK, decodeBlock, padding, parsePax, TarFormatError, type TarHeader } from "./tar-format.js";

const MAX_META = 1 << 20; // PAX / long-name data larger than 1 MiB is refused

export interface TarEntry {
  header: TarHeader;
  /** the body, as chunks; must be consumed (or skipped with drain) before the next entry */
  body(): AsyncIterable<Buffer>;
  drain(): Promise<void>;
}

class ByteSource {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer | Uint8Array | string>;
  private ended = false;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    const chunk = typeof r.value === "string" ? Buffer.from(r.value) : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    return true;
  }

  /** Exactly n bytes, or fewer at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) if (!(await this.fill())) break;
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** Up to n bytes as they arrive. */
  async *chunks(n: number): AsyncIterable<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) throw new TarFormatError("unexpected end of tar stream (truncated layer)");
      const take = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(take.length);
      left -= take.length;
      yield take;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n)) void _;
  }
}

export async function* readTar(source: AsyncIterable<Buffer | Uint8Array | string>): AsyncIterable<TarEntry> {
  const src = new ByteSource(source);
  let pax = new Map<string, Buffer>();
  let globalPax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await src.read(BLOCK);
    if (block.length === 0) return; // end without the zero blocks: accepted, like Go
    if (block.length < BLOCK) throw new TarFormatError("unexpected end of tar stream (truncated header)");
    const h = decodeBlock(block);
    if (!h) return; // end-of-archive marker
    if (h.type === "x" || h.type === "g" || h.type === "L" || h.type === "K") {
      if (h.size > MAX_META) throw new TarFormatError(`tar metadata entry of ${h.size} bytes is too large`);
      const data = await src.read(h.size);
      if (data.length < h.size) throw new TarFormatError("unexpected end of tar stream (truncated metadata)");
      await src.skip(padding(h.size));
      if (h.type === "x") pax = new Map([...pax, ...parsePax(data)]);
      else if (h.type === "g") globalPax = new Map([...globalPax, ...parsePax(data)]);
      else if (h.type === "L") longName = data.toString("utf8").replace(/\0+$/, "");
      else longLink = data.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    const all = new Map([...globalPax, ...pax]);
    const header: TarHeader = { ...h, pax: new Map() };
    if (longName !== undefined) header.name = longName;
    if (longLink !== undefined) header.linkname = longLink;
    for (const [k, v] of all) {
      const s = v.toString("utf8");
      if (k === "path") header.name = s;
      else if (k === "linkpath") header.linkname = s;
      else if (k === "uid") header.uid = Number(s);
      else if (k === "gid") header.gid = Number(s);
      else if (k === "size") header.size = Number(s);
      else if (k === "uname") header.uname = s;
      else if (k === "gname") header.gname = s;
      else if (k === "mtime") header.mtime = new Date(Number(s) * 1000);
      else header.pax.set(k, v);
    }
    if (!Number.isSafeInteger(header.size) || header.size < 0) throw new TarFormatError(`bad entry size for ${header.name}`);
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    const hasBody = header.type === "0" || header.type === "7";
    const size = hasBody ? header.size : header.type === "5" || header.type === "1" || header.type === "2" ? 0 : header.size;
    let consumed = false;
    const entry: TarEntry = {
      header,
      body: () => {
        if (consumed) throw new Error("tar entry body read twice");
        consumed = true;
        return src.chunks(size);
      },
      drain: async () => {
        if (!consumed) {
          consumed = true;
          await src.skip(size);
        }
      },
    };
    yield entry;
    await entry.drain();
    await src.skip(padding(size));
  }
}
