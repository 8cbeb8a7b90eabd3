/**
 * The tar format as container layers use it: USTAR headers with PAX extended records for long
 * names and link names, large ids and sizes, and xattrs (SCHILY.xattr.*), as Go's archive/tar
 * writes them in PAX format (what containerd and BuildKit produce). Reading also understands GNU
 * long names and base-256 numbers.
 */

export const BLOCK = 512;

export type TarType = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "x" | "g" | "L" | "K";

export interface TarHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  type: TarType;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** PAX records beyond path/linkpath/uid/gid/size (values raw, for binary xattrs) */
  pax: Map<string, Buffer>;
}

const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

function writeString(buf: Buffer, s: string, off: number, len: number): void {
  buf.write(s, off, len, "utf8");
}
function writeOctal(buf: Buffer, n: number, off: number, len: number): void {
  buf.write(n.toString(8).padStart(len - 1, "0") + "\0", off, len, "ascii");
}
function fitsUstarName(name: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(name) !== name.length) return undefined; // non-ASCII: PAX
  if (name.length <= 100) return { name, prefix: "" };
  // split at a "/" so that prefix <= 155 and name <= 100
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== "/") continue;
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (prefix.length <= 155 && rest.length <= 100 && rest.length > 0) return { name: rest, prefix };
    if (prefix.length > 155) continue;
  }
  return undefined;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from("\n")]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function encodeBlock(h: Omit<TarHeader, "pax">, name: string, prefix: string): Buffer {
  const buf = Buffer.alloc(BLOCK);
  writeString(buf, name, 0, 100);
  writeOctal(buf, h.mode & 0o7777, 100, 8);
  writeOctal(buf, Math.min(h.uid, MAX_OCTAL_8), 108, 8);
  writeOctal(buf, Math.min(h.gid, MAX_OCTAL_8), 116, 8);
  writeOctal(buf, Math.min(h.size, MAX_OCTAL_12), 124, 12);
  writeOctal(buf, Math.max(0, Math.min(Math.floor(h.mtime.getTime() / 1000), MAX_OCTAL_12)), 136, 12);
  buf.fill(" ", 148, 156);
  buf.write(h.type, 156, 1, "ascii");
  writeString(buf, h.linkname, 157, 100);
  buf.write("ustar\0", 257, 6, "ascii");
  buf.write("00", 263, 2, "ascii");
  writeString(buf, h.uname, 265, 32);
  writeString(buf, h.gname, 297, 32);
  if (h.type === "3" || h.type === "4") {
    writeOctal(buf, h.devmajor, 329, 8);
    writeOctal(buf, h.devminor, 337, 8);
  }
  writeString(buf, prefix, 345, 155);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += buf[i] as number;
  buf.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return buf;
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Encodes the header block(s) of one entry: an optional PAX header + data, then the entry's header. */
export function encodeHeader(h: TarHeader): Buffer {
  const records: Buffer[] = [];
  const split = fitsUstarName(h.name);
  if (!split) records.push(paxRecord("path", Buffer.from(h.name)));
  const linkOk = Buffer.byteLength(h.linkname) === h.linkname.length && h.linkname.length <= 100;
  if (!linkOk) records.push(paxRecord("linkpath", Buffer.from(h.linkname)));
  if (h.uid > MAX_OCTAL_8) records.push(paxRecord("uid", Buffer.from(String(h.uid))));
  if (h.gid > MAX_OCTAL_8) records.push(paxRecord("gid", Buffer.from(String(h.gid))));
  if (h.size > MAX_OCTAL_12) records.push(paxRecord("size", Buffer.from(String(h.size))));
  if (Buffer.byteLength(h.uname) > 32) records.push(paxRecord("uname", Buffer.from(h.uname)));
  if (Buffer.byteLength(h.gname) > 32) records.push(paxRecord("gname", Buffer.from(h.gname)));
  for (const [k, v] of [...h.pax].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) records.push(paxRecord(k, v));
  const main = encodeBlock(h, split ? split.name : h.name.slice(0, 100), split ? split.prefix : "");
  if (records.length === 0) return main;
  const data = Buffer.concat(records);
  const base = h.name.replace(/\/$/, "");
  const slash = base.lastIndexOf("/");
  const paxName = (slash === -1 ? "" : base.slice(0, slash + 1)) + "PaxHeaders.0/" + base.slice(slash + 1);
  const paxHeader = encodeBlock(
    { ...h, name: "", type: "x", size: data.length, linkname: "", uname: "", gname: "", devmajor: 0, devminor: 0 },
    Buffer.from(paxName).subarray(0, 100).toString("latin1"),
    "",
  );
  return Buffer.concat([paxHeader, data, Buffer.alloc(padding(data.length)), main]);
}

/** A string field: UTF-8 up to the first NUL or the field's end. */
export function readString(buf: Buffer, off: number, len: number): string {
  const end = buf.indexOf(0, off);
  return buf.toString("utf8", off, end === -1 || end > off + len ? off + len : end);
}

/** A number field: octal digits (cut at NUL, white space ignored), or base-256 (GNU) when the high bit is set. */
export function readNumber(buf: Buffer, off: number, len: number): number {
  if (((buf[off] as number) & 0x80) !== 0) {
    // base-256 (GNU): big-endian, first byte's high bit set
    let n = (buf[off] as number) & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + (buf[off + i] as number);
    return n;
  }
  // octal digits, cut at the first NUL, surrounding white space ignored (without making strings:
  // this runs for every field of every entry of every layer)
  const end = off + len;
  let stop = end;
  for (let k = off; k < end; k++) {
    if (buf[k] === 0) {
      stop = k;
      break;
    }
  }
  const space = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
  let i = off;
  let j = stop;
  while (i < j && space(buf[i] as number)) i++;
  while (j > i && space(buf[j - 1] as number)) j--;
  let n = 0;
  for (let k = i; k < j; k++) {
    const c = buf[k] as number;
    if (c < 0x30 || c > 0x37) throw new TarFormatError(`bad octal number ${JSON.stringify(buf.toString("ascii", off, stop))}`);
    n = n * 8 + (c - 0x30);
  }
  return n;
}

export class TarFormatError extends Error {
  override readonly name = "TarFormatError";
}

/** An all-zero block: the end-of-archive marker. */
export const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** Decodes a 512-byte header block; returns undefined for an all-zero block. */
export function decodeBlock(buf: Buffer): Omit<TarHeader, "pax"> | undefined {
  if (buf.equals(ZERO_BLOCK)) return undefined; // (native compare: this runs once per entry of every layer)
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (buf[i] as number);
  const stored = readNumber(buf, 148, 8);
  if (stored !== sum) throw new TarFormatError("bad header checksum (not a tar file, or corrupt)");
  const magic = buf.toString("ascii", 257, 263);
  let name = readString(buf, 0, 100);
  if (magic === "ustar\0" || magic.startsWith("ustar")) {
    const prefix = readString(buf, 345, 155);
    if (prefix && magic === "ustar\0") name = `${prefix}/${name}`;
  }
  const t = String.fromCharCode(buf[156] as number);
  return {
    name,
    mode: readNumber(buf, 100, 8),
    uid: readNumber(buf, 108, 8),
    gid: readNumber(buf, 116, 8),
    size: readNumber(buf, 124, 12),
    mtime: new Date(readNumber(buf, 136, 12) * 1000),
    type: (t === "\0" ? "0" : t) as TarType,
    linkname: readString(buf, 157, 100),
    uname: readString(buf, 265, 32),
    gname: readString(buf, 297, 32),
    devmajor: readNumber(buf, 329, 8),
    devminor: readNumber(buf, 337, 8),
  };
}

export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp === -1) throw new TarFormatError("bad PAX record");
    const len = Number.parseInt(data.toString("ascii", off, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || off + len > data.length) throw new TarFormatError("bad PAX record length");
    const rec = data.subarray(sp + 1, off + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq === -1) throw new TarFormatError("bad PAX record");
    out.set(rec.toString("utf8", 0, eq), Buffer.from(rec.subarray(eq + 1)));
    off += len;
  }
  return out;
}
