/**
 * A directory tree as layer entries: sorted (byte order of paths, parents before children),
 * hard links detected by (dev, ino) — the first path is the file, later ones are "hardlink"
 * entries — sockets skipped. xattrs are read only when asked (via getfattr, from Debian's attr).
 */
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { LayerEntry } from "./entry.js";
import { readXattrs } from "./xattrs.js";

export interface WalkOptions {
  /** read extended attributes (costs a process per directory tree) */
  xattrs?: boolean;
}

export async function* walkDirectory(root: string, opts: WalkOptions = {}): AsyncIterable<LayerEntry> {
  const seen = new Map<string, string>();
  const xattrs = opts.xattrs ? await readXattrs(root) : new Map<string, Record<string, Buffer>>();
  async function* walk(rel: string): AsyncIterable<LayerEntry> {
    const names = (await readdir(join(root, rel))).sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const abs = join(root, path);
      const st = await lstat(abs, { bigint: true });
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
      if (st.isFile()) yield { ...base, type: "file", size: Number(st.size), open: () => createReadStream(abs) };
      else if (st.isSymbolicLink()) yield { ...base, type: "symlink", linkname: await readlink(abs) };
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
