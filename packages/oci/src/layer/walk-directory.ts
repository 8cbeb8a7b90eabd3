/**
 * A directory tree as layer entries: sorted (byte order of paths, parents before children),
 * hard links detected by (dev, ino) — the first path is the file, later ones are "hardlink"
 * entries — sockets skipped. xattrs are read only when asked (via getfattr, from Debian's attr).
 *
 * The walk uses synchronous calls on purpose: a layer of 20,000 small files costs 20,000 lstats
 * and reads, and each asynchronous call is a round trip through libuv's thread pool that costs
 * several times the system call itself (measured: 0.6 s sync vs 2.2 s async for 20,000 files).
 * Small files offer their content in one synchronous read (`read`); large ones in synchronous reads
 * of 1 MiB (`open`): a read from the page cache is cheaper than a stream's thread-pool round trips
 * (200 files of 1 MiB: 60 ms vs 210 ms).
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from "node:fs";
import { join } from "node:path";
import type { LayerEntry } from "./entry.js";
import { readXattrs } from "./xattrs.js";

export interface WalkOptions {
  /** read extended attributes (costs a process per directory tree) */
  xattrs?: boolean;
}

/** Files up to this size are read in one synchronous call. */
const SMALL_FILE = 256 * 1024;
/** The size of the pieces a larger file is read in. */
const PIECE = 1 << 20;

/**
 * A file's content in pieces, each a fresh buffer; the descriptor is closed when the reader stops.
 * Reads past the expected size by one byte, so a file that grew is seen (tarBytes fails it). Opened
 * without following a link and without blocking, in case the path was swapped for one or for a FIFO.
 */
function* readPieces(abs: string, size: number): Iterable<Buffer> {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    let left = size;
    for (;;) {
      const want = Math.min(PIECE, Math.max(left, 0) + 1);
      const b = Buffer.allocUnsafe(want);
      const n = readSync(fd, b, 0, want, null);
      if (n === 0) return;
      left -= n;
      yield n === want ? b : b.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** The content accessors of a regular file of `size` bytes. */
function fileContent(abs: string, size: number): Pick<LayerEntry, "open" | "read"> {
  return { open: () => readPieces(abs, size), ...(size <= SMALL_FILE ? { read: () => readFileSync(abs) } : {}) };
}

/** Byte order of UTF-8 names (Go's sort of strings), without allocating for ASCII names. */
function byteOrder(a: string, b: string): number {
  // for ASCII, UTF-16 order is byte order; otherwise compare the encodings
  if (/^[\x00-\x7f]*$/.test(a) && /^[\x00-\x7f]*$/.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The order of a walk: paths compared component by component (parents before their children). */
export function compareWalkOrder(a: string, b: string): number {
  const pa = a.split("/");
  const pb = b.split("/");
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const c = byteOrder(pa[i] as string, pb[i] as string);
    if (c !== 0) return c;
  }
  return pa.length - pb.length;
}

/** The layer entry of one path under `root` (as walkDirectory makes it; no hard-link detection). */
export function statEntry(root: string, path: string): LayerEntry | undefined {
  const abs = join(root, path);
  const st = lstatSync(abs, { bigint: true });
  const base = { path, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: new Date(Number(st.mtimeMs)) };
  if (st.isDirectory()) return { ...base, type: "dir" };
  if (st.isFile()) {
    const size = Number(st.size);
    return { ...base, type: "file", size, ...fileContent(abs, size) };
  }
  if (st.isSymbolicLink()) return { ...base, type: "symlink", linkname: readlinkSync(abs) };
  if (st.isFIFO()) return { ...base, type: "fifo" };
  return undefined;
}

export async function* walkDirectory(root: string, opts: WalkOptions = {}): AsyncIterable<LayerEntry> {
  const seen = new Map<string, string>();
  const xattrs = opts.xattrs ? await readXattrs(root) : new Map<string, Record<string, Buffer>>();
  async function* walk(rel: string): AsyncIterable<LayerEntry> {
    const names = readdirSync(join(root, rel)).sort(byteOrder);
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const st = lstatSync(abs, { bigint: true });
      const base = {
        path,
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtime: new Date(Number(st.mtimeMs)),
        ...(xattrs.has(path) ? { xattrs: xattrs.get(path) } : {}),
      };
      if (st.isSocket()) continue;
      if (st.isDirectory()) {
        yield { ...base, type: "dir" };
        yield* walk(path);
        continue;
      }
      // hard links between regular files only (overlay whiteouts share one inode, for instance)
      if (st.nlink > 1n && st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = seen.get(key);
        if (first !== undefined) {
          yield { ...base, type: "hardlink", linkname: first };
          continue;
        }
        seen.set(key, path);
      }
      if (st.isFile()) {
        const size = Number(st.size);
        yield { ...base, type: "file", size, ...fileContent(abs, size) };
      } else if (st.isSymbolicLink()) yield { ...base, type: "symlink", linkname: readlinkSync(abs) };
      else if (st.isFIFO()) yield { ...base, type: "fifo" };
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const rdev = Number(st.rdev);
        yield {
          ...base,
          type: st.isCharacterDevice() ? "char" : "block",
          devmajor: ((rdev >> 8) & 0xfff) | ((rdev >>> 32) & ~0xfff),
          devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
        };
      }
    }
  }
  yield* walk("");
}
