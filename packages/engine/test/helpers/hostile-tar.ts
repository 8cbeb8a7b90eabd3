/**
 * Test support: a raw tar writer for hostile layers. Unlike the product's tar writer it writes
 * whatever it is told: names with "..", NUL or invalid UTF-8, sizes that lie, unknown types, PAX
 * records and GNU long names that override the header's name, bodies cut short, no end marker.
 */
import { gzipSync } from "node:zlib";

const BLOCK = 512;

export interface RawEntry {
  /** the header's name field (a Buffer for raw bytes); longer than 100 bytes: a PAX path record is added */
  name: string | Buffer;
  /** the type flag: "0" file, "1" hard link, "2" symlink, "3" char, "4" block, "5" dir, "6" fifo, or anything */
  type?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** seconds since 1970 */
  mtime?: number;
  linkname?: string | Buffer;
  devmajor?: number;
  devminor?: number;
  body?: Buffer | string;
  /** the header's size field, when it should lie about the body */
  size?: number;
  /** write only this many bytes of the body (and no padding): a truncated layer */
  cutBodyAt?: number;
  /** PAX records written in an "x" entry before this one */
  pax?: Record<string, string | Buffer>;
  /** a GNU "L" (long name) / "K" (long link) entry before this one */
  gnuLongName?: string;
  gnuLongLink?: string;
}

function put(buf: Buffer, value: string | Buffer, off: number, len: number): void {
  const b = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  b.copy(buf, off, 0, Math.min(len, b.length));
}
function octal(buf: Buffer, n: number, off: number, len: number): void {
  buf.write(n.toString(8).padStart(len - 1, "0").slice(-(len - 1)) + "\0", off, len, "ascii");
}

function headerBlock(e: { name: string | Buffer; type: string; mode: number; uid: number; gid: number; mtime: number; size: number; linkname: string | Buffer; devmajor: number; devminor: number }): Buffer {
  const buf = Buffer.alloc(BLOCK);
  put(buf, e.name, 0, 100);
  octal(buf, e.mode, 100, 8);
  octal(buf, e.uid, 108, 8);
  octal(buf, e.gid, 116, 8);
  octal(buf, e.size, 124, 12);
  octal(buf, e.mtime, 136, 12);
  buf.fill(" ", 148, 156);
  buf.write(e.type, 156, 1, "latin1");
  put(buf, e.linkname, 157, 100);
  buf.write("ustar\0", 257, 6, "ascii");
  buf.write("00", 263, 2, "ascii");
  octal(buf, e.devmajor, 329, 8);
  octal(buf, e.devminor, 337, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += buf[i] as number;
  buf.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return buf;
}

function pad(n: number): Buffer {
  return Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from("\n")]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function metaEntry(type: string, data: Buffer, name: string): Buffer {
  const h = headerBlock({ name, type, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: data.length, linkname: "", devmajor: 0, devminor: 0 });
  return Buffer.concat([h, data, pad(data.length)]);
}

/** One entry's blocks: its PAX / GNU entries, its header, its body and padding. */
export function entryBlocks(e: RawEntry): Buffer {
  const type = e.type ?? "0";
  const body = e.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body);
  const parts: Buffer[] = [];
  const pax: Record<string, string | Buffer> = { ...e.pax };
  const nameBytes = typeof e.name === "string" ? Buffer.from(e.name) : e.name;
  if (nameBytes.length > 100 && pax.path === undefined && e.gnuLongName === undefined) pax.path = nameBytes;
  const linkBytes = e.linkname === undefined ? Buffer.alloc(0) : typeof e.linkname === "string" ? Buffer.from(e.linkname) : e.linkname;
  if (linkBytes.length > 100 && pax.linkpath === undefined && e.gnuLongLink === undefined) pax.linkpath = linkBytes;
  const records = Object.entries(pax).map(([k, v]) => paxRecord(k, typeof v === "string" ? Buffer.from(v) : v));
  if (records.length) parts.push(metaEntry("x", Buffer.concat(records), "PaxHeaders.0/entry"));
  if (e.gnuLongName !== undefined) parts.push(metaEntry("L", Buffer.from(e.gnuLongName + "\0"), "././@LongLink"));
  if (e.gnuLongLink !== undefined) parts.push(metaEntry("K", Buffer.from(e.gnuLongLink + "\0"), "././@LongLink"));
  const withBody = type === "0" || type === "7" || !["1", "2", "3", "4", "5", "6"].includes(type);
  const size = e.size ?? (withBody ? body.length : 0);
  parts.push(headerBlock({
    name: nameBytes.subarray(0, 100), type, mode: e.mode ?? (type === "5" ? 0o755 : type === "2" ? 0o777 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0,
    mtime: e.mtime ?? 1_000_000_000, size, linkname: linkBytes.subarray(0, 100), devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0,
  }));
  if (e.cutBodyAt !== undefined) {
    parts.push(body.subarray(0, e.cutBodyAt));
  } else if (withBody || body.length) {
    parts.push(body, pad(body.length));
  }
  return Buffer.concat(parts);
}

/** A tar of the entries; `end: false` leaves out the two zero blocks. */
export function tarOf(entries: RawEntry[], opts: { end?: boolean } = {}): Buffer {
  const parts = entries.map(entryBlocks);
  if (opts.end !== false && !entries.some((e) => e.cutBodyAt !== undefined)) parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

export function gzip(b: Buffer): Buffer {
  return gzipSync(b);
}

// shorthands for the tables
export const file = (name: string | Buffer, body: string | Buffer, more: Partial<RawEntry> = {}): RawEntry => ({ name, type: "0", body, ...more });
export const dir = (name: string | Buffer, more: Partial<RawEntry> = {}): RawEntry => ({ name, type: "5", ...more });
export const symlink = (name: string | Buffer, target: string | Buffer, more: Partial<RawEntry> = {}): RawEntry => ({ name, type: "2", linkname: target, ...more });
export const hardlink = (name: string | Buffer, target: string | Buffer, more: Partial<RawEntry> = {}): RawEntry => ({ name, type: "1", linkname: target, ...more });
export const whiteout = (dirName: string, victim: string): RawEntry => ({ name: `${dirName ? dirName + "/" : ""}.wh.${victim}`, type: "0", body: "", mode: 0 });
export const opaque = (dirName: string): RawEntry => ({ name: `${dirName ? dirName + "/" : ""}.wh..wh..opq`, type: "0", body: "", mode: 0 });
