/**
 * The one way to write into a root file system (an image's, a snapshot's, an ADD's destination).
 *
 * Every path is walked component by component from a descriptor of the root, each component opened
 * with O_NOFOLLOW|O_DIRECTORY. A symlink on the way is read (through the descriptor of its parent)
 * and resolved as if the root were "/": an absolute target restarts at the root, ".." never climbs
 * above it. What is then written, made or changed is named as DIRECTORY-DESCRIPTOR + ONE NAME
 * (`/proc/self/fd/N/NAME`), so the kernel resolves nothing but that last component, and never
 * follows it: files are created O_CREAT|O_EXCL|O_NOFOLLOW, metadata is set through a descriptor of
 * the entry itself (fchown, fchmod, futimes; O_PATH for devices, fifos and sockets) or, for a
 * symlink, with the l* calls on DIRECTORY + NAME. So no symlink, planted before or during the
 * write, can take a write outside the root: the worst a hostile tree can do is misdirect a write to
 * another place inside the root.
 *
 * Nothing here joins a root path and an entry name into a host path. Read-only walks of trusted
 * trees (the build context, a stage's root being copied from) may still use paths.
 */
import { spawn } from "node:child_process";
import { toolPath, type ToolName } from "../system-tools.js";
import {
  chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync,
  lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, type Stats,
} from "node:fs";
import { UnsafePathError } from "../errors.js";

/** O_PATH (same value on every Linux architecture Node runs on); Node's constants do not list it. */
const O_PATH = 0o10000000;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** as the kernel's MAXSYMLINKS */
const MAX_LINKS = 40;
/** resolved directories kept open between calls (a layer's entries come grouped by directory) */
const CACHE_SIZE = 64;
/** the kernel's: a longer path could be made a component at a time, but no path-based tool could reach it again */
export const PATH_MAX = 4096;

/** The path the kernel resolves to directory `fd` and, given a name, to that one entry in it (not followed). */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** A directory inside a root: its open descriptor and its resolved path relative to the root ("" = the root). */
export interface RootDir {
  readonly fd: number;
  readonly rel: string;
}

export interface MakeDirs {
  /** permission bits of a directory made (default 0o755) */
  mode?: number;
  /** owner of a directory made (default: the process's) */
  uid?: number;
  gid?: number;
}

export interface EntryMeta {
  uid?: number;
  gid?: number;
  /** permission bits, setuid/setgid/sticky included; ignored for a symlink */
  mode?: number;
  /** seconds since the epoch (fractions kept) */
  atime?: number;
  mtime?: number;
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function joinRel(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

function checkName(name: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    throw new UnsafePathError(name, "not a single path component");
  }
}

/** A root file system opened for writing; `close()` it when done. */
export class SafeRoot {
  private readonly cache = new Map<string, RootDir>();
  /** descriptors forgotten but maybe still in a caller's hands: closed by settle() */
  private readonly retired = new Set<number>();

  private constructor(readonly path: string, readonly fd: number) {}

  /** Opens the directory `path` (itself trusted: a snapshot's root, a directory the caller made). */
  static open(path: string): SafeRoot {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (e) {
      throw new UnsafePathError(path, `cannot open the root directory (${errno(e) ?? String(e)})`);
    }
    try {
      lstatSync(fdPath(fd));
    } catch {
      closeSync(fd);
      throw new UnsafePathError(path, "/proc is not mounted; tsbuild needs /proc/self/fd to write into a root safely (mount -t proc proc /proc)");
    }
    return new SafeRoot(path, fd);
  }

  /** The root itself, as a RootDir. */
  get top(): RootDir {
    return { fd: this.fd, rel: "" };
  }

  /** Closes the root and every directory it resolved. */
  close(): void {
    this.forget();
    this.settle();
    closeSync(this.fd);
  }

  /**
   * Forgets the directories resolved so far, but `keep`. Call it after removing or replacing a
   * directory or a symlink: a path resolved before may now lead elsewhere. Their descriptors stay
   * open (a caller may still hold one) until `settle()`.
   */
  forget(keep?: RootDir): void {
    for (const [k, d] of this.cache) {
      if (d === keep) continue;
      if (d.fd !== this.fd) this.retired.add(d.fd);
      this.cache.delete(k);
    }
  }

  /**
   * Removes `dir/name` (everything below a directory; a symlink itself, never followed), given its
   * lstat when the caller has it; a directory or symlink removed may have been on the way of a path
   * resolved before, so those are forgotten (all but `dir`).
   */
  remove(dir: RootDir, name: string, st: Stats | undefined = lstatAt(dir, name)): void {
    if (!st) return;
    removeAt(dir, name);
    if (st.isDirectory() || st.isSymbolicLink()) this.forget(dir);
  }

  /** Closes the descriptors forgotten so far: call it only where no RootDir got before is used again (between a layer's entries). */
  settle(): void {
    for (const fd of this.retired) closeSync(fd);
    this.retired.clear();
  }

  /**
   * The directory at `rel` (relative to the root, "/"-separated), symlinks on the way followed inside
   * the root. Missing directories are made when `make` is given, else a missing one is an error.
   * The RootDir stays owned by this root: valid until `settle()` after a `forget()`, or `close()`.
   */
  dir(rel: string, make?: MakeDirs): RootDir {
    const key = rel.split("/").filter((c) => c !== "" && c !== ".").join("/");
    if (key === "") return this.top;
    const hit = this.cache.get(key);
    if (hit) return hit;
    // from the nearest directory above already resolved (a layer's entries come in tree order)
    let base = this.top;
    let rest = key;
    for (let at = key.lastIndexOf("/"); at > 0; at = key.lastIndexOf("/", at - 1)) {
      const above = this.cache.get(key.slice(0, at));
      if (above) {
        base = above;
        rest = key.slice(at + 1);
        break;
      }
    }
    const d = this.walk(base, rest, make);
    // the root, or a directory cached already under another name ("a/b/.." is "a")
    if (d.fd === this.fd || d === base) return d;
    if (this.cache.size >= CACHE_SIZE) this.forget();
    this.cache.set(key, d);
    return d;
  }

  /** `rel`'s parent directory resolved (made when `make` is given) and `rel`'s last name, which is not followed. */
  parent(rel: string, make?: MakeDirs): { dir: RootDir; name: string } {
    const parts = rel.split("/").filter((c) => c !== "" && c !== ".");
    const name = parts.pop();
    if (name === undefined || name === "..") throw new UnsafePathError(rel, "names no entry");
    return { dir: this.dir(parts.join("/"), make), name };
  }

  /**
   * Opens the directory at the already resolved `rel` with no symlink followed anywhere on the way,
   * or undefined when some component is no longer a real directory. The caller closes it.
   */
  openExact(rel: string): number | undefined {
    let fd = this.fd;
    for (const c of rel.split("/").filter(Boolean)) {
      let next: number | undefined;
      try {
        next = openSync(fdPath(fd, c), DIR_FLAGS);
      } catch {
        next = undefined;
      }
      if (fd !== this.fd) closeSync(fd);
      if (next === undefined) return undefined;
      fd = next;
    }
    // the root again (its /proc/self/fd entry is a link to it: followed)
    return fd === this.fd ? openSync(fdPath(this.fd), constants.O_RDONLY | constants.O_DIRECTORY) : fd;
  }

  /**
   * `fn` with each directory of `rels` (already resolved) opened with no symlink followed anywhere
   * on the way (one that is no longer a real directory is skipped). Shares the walk of common
   * prefixes, so a tree of N directories costs about N opens in all, not N × depth.
   */
  eachExact(rels: Iterable<string>, fn: (fd: number, rel: string) => void): void {
    const sorted = [...new Set(rels)].map((r) => r.split("/").filter(Boolean)).sort((a, b) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as string) < (b[i] as string) ? -1 : 1;
      return a.length - b.length;
    });
    /** the open directories along the current path: stack[i] is the directory of path[0..i] */
    const stack: { name: string; fd: number | undefined }[] = [];
    try {
      for (const parts of sorted) {
        let common = 0;
        while (common < stack.length && common < parts.length && stack[common]?.name === parts[common]) common++;
        while (stack.length > common) {
          const fd = stack.pop()?.fd;
          if (fd !== undefined) closeSync(fd);
        }
        for (let i = stack.length; i < parts.length; i++) {
          const parent = i === 0 ? this.fd : stack[i - 1]?.fd;
          let fd: number | undefined;
          if (parent !== undefined) {
            try {
              fd = openSync(fdPath(parent, parts[i] as string), DIR_FLAGS);
            } catch {
              fd = undefined; // not a real directory (any more): nothing below it is reached
            }
          }
          stack.push({ name: parts[i] as string, fd });
        }
        const here = parts.length === 0 ? this.fd : stack[stack.length - 1]?.fd;
        if (here !== undefined) fn(here, parts.join("/"));
      }
    } finally {
      for (const e of stack) if (e.fd !== undefined) closeSync(e.fd);
    }
  }

  /** Walks `rel` from `base` (a resolved directory this root owns; never closed here). */
  private walk(base: RootDir, rel: string, make: MakeDirs | undefined): RootDir {
    /** the descriptors opened below `start` (owned by this walk until returned) */
    const fds: number[] = [];
    const names: string[] = [];
    let start = base;
    // bytes of the resolved path, the root's own path included: below PATH_MAX, or nothing could reach it again
    const rootBytes = Buffer.byteLength(this.path) + 1;
    let bytes = rootBytes + Buffer.byteLength(start.rel);
    const top = () => fds[fds.length - 1] ?? start.fd;
    const resolved = () => [start.rel, ...names].filter(Boolean).join("/");
    const popAll = () => {
      for (const fd of fds) closeSync(fd);
      fds.length = 0;
      names.length = 0;
      start = this.top;
      bytes = rootBytes;
    };
    let queue = rel.split("/");
    let links = 0;
    try {
      while (queue.length > 0) {
        const c = queue.shift() as string;
        if (c === "" || c === ".") continue;
        if (c === "..") {
          const fd = fds.pop();
          if (fd !== undefined) {
            closeSync(fd);
            bytes -= Buffer.byteLength(names.pop() as string) + 1;
          } else if (start.fd !== this.fd) {
            // above where this walk began: again from the root, through the resolved path
            queue = [...start.rel.split("/"), "..", ...queue];
            popAll();
          }
          continue;
        }
        if (c.includes("\0")) throw new UnsafePathError(joinRel(resolved(), "?"), "NUL byte in a name");
        const at = fdPath(top(), c);
        let fd: number | undefined;
        try {
          fd = openSync(at, DIR_FLAGS);
        } catch (e) {
          const st = lstatSync(at, { throwIfNoEntry: false });
          if (st?.isSymbolicLink()) {
            if (++links > MAX_LINKS) throw new UnsafePathError(rel, "too many levels of symbolic links", "ELOOP");
            const target = readlinkSync(at);
            if (target.startsWith("/")) popAll();
            queue = [...target.split("/"), ...queue];
            continue;
          }
          if (st && !st.isDirectory()) throw new UnsafePathError(joinRel(resolved(), c), "not a directory", "ENOTDIR");
          if (st || !make || errno(e) !== "ENOENT") throw new UnsafePathError(joinRel(resolved(), c), `cannot open (${errno(e) ?? String(e)})`, errno(e));
          if (bytes + Buffer.byteLength(c) + 1 >= PATH_MAX) throw new UnsafePathError(resolved().slice(0, 200), `path longer than ${PATH_MAX} bytes`, "ENAMETOOLONG");
          mkdirSync(at, make.mode ?? 0o755);
          fd = openSync(at, DIR_FLAGS);
          fds.push(fd);
          names.push(c);
          bytes += Buffer.byteLength(c) + 1;
          if (make.uid !== undefined) fchownSync(fd, make.uid, make.gid ?? make.uid);
          fchmodSync(fd, make.mode ?? 0o755); // the umask applied at mkdir
          continue;
        }
        fds.push(fd);
        names.push(c);
        bytes += Buffer.byteLength(c) + 1;
        if (bytes >= PATH_MAX) throw new UnsafePathError(resolved().slice(0, 200), `path longer than ${PATH_MAX} bytes`, "ENAMETOOLONG");
      }
    } catch (e) {
      for (const f of fds) closeSync(f);
      throw e;
    }
    const fd = fds.pop();
    for (const f of fds) closeSync(f);
    if (fd === undefined) return start;
    return { fd, rel: resolved() };
  }
}

// ---- operations on DIRECTORY + NAME -------------------------------------------------------------

/** lstat of one entry (never followed); undefined when absent. */
export function lstatAt(dir: RootDir, name: string): Stats | undefined {
  checkName(name);
  return lstatSync(fdPath(dir.fd, name), { throwIfNoEntry: false });
}

/** The names in a directory. */
export function readdirAt(dir: RootDir): string[] {
  return readdirSync(fdPath(dir.fd));
}

/** Removes one entry and, for a directory, everything below it (symlinks removed, never followed). */
export function removeAt(dir: RootDir, name: string): void {
  checkName(name);
  rmSync(fdPath(dir.fd, name), { recursive: true, force: true });
}

/** Makes a directory (mode before the umask's correction; set it with setMetaAt). */
export function mkdirAt(dir: RootDir, name: string, mode = 0o755): void {
  checkName(name);
  mkdirSync(fdPath(dir.fd, name), mode);
}

/** Opens the real directory `name` in `dir` (a symlink there is an error). The caller closes it. */
export function openDirAt(dir: RootDir, name: string): number {
  checkName(name);
  return openSync(fdPath(dir.fd, name), DIR_FLAGS);
}

/** Creates a new regular file for writing (it must not exist: O_EXCL, never through a symlink). The caller closes it. */
export function createFileAt(dir: RootDir, name: string, mode = 0o600): number {
  checkName(name);
  return openSync(fdPath(dir.fd, name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
}

export function symlinkAt(dir: RootDir, name: string, target: string): void {
  checkName(name);
  symlinkSync(target, fdPath(dir.fd, name));
}

/** A hard link `dir/name` to the entry `fromDir/fromName` (the entry itself, a symlink not followed). */
export function linkAt(fromDir: RootDir, fromName: string, dir: RootDir, name: string): void {
  checkName(fromName);
  checkName(name);
  linkSync(fdPath(fromDir.fd, fromName), fdPath(dir.fd, name));
}

function runWithDir(cmd: ToolName, args: string[], dir: RootDir): Promise<void> {
  return new Promise((resolve, reject) => {
    // the child gets the directory as its fd 3 and names the entry through it
    const c = spawn(toolPath(cmd), args, { stdio: ["ignore", "ignore", "pipe", dir.fd] });
    let err = "";
    c.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    c.on("error", (e) => reject(new Error(`${cmd} could not run: ${e.message}`)));
    c.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd}: ${err.trim()}`))));
  });
}

/** A device node ("c" or "b") or a fifo ("p"). */
export async function mknodAt(dir: RootDir, name: string, kind: "c" | "b" | "p", major = 0, minor = 0): Promise<void> {
  checkName(name);
  if (kind === "p") await runWithDir("mkfifo", [`/proc/self/fd/3/${name}`], dir);
  else await runWithDir("mknod", [`/proc/self/fd/3/${name}`, kind, String(major), String(minor)], dir);
}

/** Sets an extended attribute on the entry itself (a symlink's own, never its target's). */
export async function setXattrAt(dir: RootDir, name: string, key: string, value: Buffer): Promise<void> {
  checkName(name);
  await runWithDir("setfattr", ["-h", "-n", key, "-v", "0s" + value.toString("base64"), `/proc/self/fd/3/${name}`], dir);
}

/** Owner, then mode (chown clears setuid/setgid), then times, of an open descriptor. */
export function setMetaFd(fd: number, meta: EntryMeta): void {
  if (meta.uid !== undefined) fchownSync(fd, meta.uid, meta.gid ?? meta.uid);
  if (meta.mode !== undefined) fchmodSync(fd, meta.mode & 0o7777);
  if (meta.mtime !== undefined) futimesSync(fd, meta.atime ?? meta.mtime, meta.mtime);
}

/**
 * Owner, mode and times of the entry `dir/name` itself, whatever it is: a symlink's own (l* calls,
 * its mode left alone), anything else's through an O_PATH descriptor of it, so a device is never
 * opened and nothing is followed.
 */
export function setMetaAt(dir: RootDir, name: string, meta: EntryMeta): void {
  checkName(name);
  const at = fdPath(dir.fd, name);
  const fd = openSync(at, O_PATH | constants.O_NOFOLLOW);
  try {
    if (fstatSync(fd).isSymbolicLink()) {
      if (meta.uid !== undefined) lchownSync(at, meta.uid, meta.gid ?? meta.uid);
      if (meta.mtime !== undefined) lutimesSync(at, meta.atime ?? meta.mtime, meta.mtime);
      return;
    }
    // /proc/self/fd/N of an O_PATH descriptor is the entry itself (fchmod and friends refuse O_PATH)
    const self = fdPath(fd);
    if (meta.uid !== undefined) chownSync(self, meta.uid, meta.gid ?? meta.uid);
    if (meta.mode !== undefined) chmodSync(self, meta.mode & 0o7777);
    if (meta.mtime !== undefined) utimesSync(self, meta.atime ?? meta.mtime, meta.mtime);
  } finally {
    closeSync(fd);
  }
}

/**
 * The times of the entry `dir/name` itself, whatever it is (a symlink's own, a device never
 * opened): one utimensat with no symlink followed, named through the directory's descriptor.
 */
export function setTimesAt(dir: RootDir, name: string, atime: number, mtime: number): void {
  checkName(name);
  lutimesSync(fdPath(dir.fd, name), atime, mtime);
}
