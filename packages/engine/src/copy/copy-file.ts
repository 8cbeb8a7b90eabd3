/**
 * One regular file copied with as few system calls as a cold COPY of 20,000 small files can afford.
 * A small file is read into one reused buffer and written to a new file whose owner, mode and
 * times are then set through its descriptor (no second path lookup through the overlay mount):
 * about 8 calls a file, where copyFileSync and path-based chown/chmod/utimes made 14 (two of them
 * failing: a reflink and copy_file_range, which cannot cross into an overlay). A large file goes
 * through copyFileSync, which clones or copies it in the kernel (reflinks where the file system
 * has them) and never holds it in memory. The copy is a new entry in a directory of a SafeRoot,
 * created O_EXCL (never written through a symlink planted in the target).
 */
import { closeSync, constants, copyFileSync, lutimesSync, openSync, readSync, utimesSync, writeSync } from "node:fs";
import { createFileAt, fdPath, setMetaAt, setMetaFd, type RootDir } from "@tsbuild/oci";
import type { Owner } from "./copier.js";

/** Files up to this size are copied through the buffer. */
const SMALL_FILE = 1 << 20;
let buffer: Buffer | undefined;

export interface FileMeta {
  size: number;
  owner: Owner;
  /** permission bits, setuid/setgid/sticky included */
  mode: number;
  /** seconds since the epoch, to the microsecond (see statTimes) */
  atime: number;
  mtime: number;
}

/**
 * A file's times as utimes wants them to keep them: seconds with the fraction of stat's *Ms fields.
 * Not Stats.atime/mtime: Node rounds those Dates to the millisecond, so a file changed at :19.9996
 * would get :20.000 in the copy (and a layer header one second later than the source says).
 */
export function statTimes(st: { atimeMs: number; mtimeMs: number }): { atime: number; mtime: number } {
  return { atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 };
}

/** Gives `abs` (the link itself, for a symlink) the times `st` has, to the microsecond (see statTimes). */
export function keepTimes(abs: string, st: { atimeMs: number; mtimeMs: number; isSymbolicLink(): boolean }): void {
  const t = statTimes(st);
  (st.isSymbolicLink() ? lutimesSync : utimesSync)(abs, t.atime, t.mtime);
}

/** Copies a regular file to the new entry `name` in `dir` (created O_EXCL, never through a symlink). */
export function copyRegularFile(srcAbs: string, dir: RootDir, name: string, meta: FileMeta): void {
  if (meta.size > SMALL_FILE) {
    copyFileSync(srcAbs, fdPath(dir.fd, name), constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    setMetaAt(dir, name, { uid: meta.owner.uid, gid: meta.owner.gid, mode: meta.mode, atime: meta.atime, mtime: meta.mtime });
    return;
  }
  buffer ??= Buffer.allocUnsafe(SMALL_FILE);
  const src = openSync(srcAbs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const dst = createFileAt(dir, name, meta.mode & 0o777);
    try {
      // to the end of the file, whatever its size now: the bytes copied are the bytes there
      for (;;) {
        const n = readSync(src, buffer, 0, buffer.length, null);
        if (n === 0) break;
        for (let at = 0; at < n; ) at += writeSync(dst, buffer, at, n - at);
      }
      // the umask applied at open; chown clears setuid/setgid
      setMetaFd(dst, { uid: meta.owner.uid, gid: meta.owner.gid, mode: meta.mode, atime: meta.atime, mtime: meta.mtime });
    } finally {
      closeSync(dst);
    }
  } finally {
    closeSync(src);
  }
}
