/**
 * COPY and ADD as file operations on a writable root (no container), with BuildKit's rules:
 * destination relative to WORKDIR, a trailing "/" (or ".") meaning a directory, several sources
 * copied in turn (into a directory, or one after another onto a file), heredocs after the paths,
 * parents created (0755, owned like --chown), a directory source copying its
 * contents, Go filepath.Match globs (no match is an error), sources never leaving their root,
 * symlinks copied as links, context files owned by 0:0 unless --chown, modes and mtimes kept,
 * --chmod on everything copied (chmod.ts: octal or symbolic). Below a directory source, --exclude
 * and --parents' include pattern filter what is copied (copy-filter.ts; the sources as copies:
 * copy-units.ts). Every target path is resolved inside the target root.
 */
import { lstat, readdir, readlink } from "node:fs/promises";
import { closeSync, lstatSync, readdirSync, readlinkSync, writeSync, type Stats } from "node:fs";
import { posix } from "node:path";
import {
  createFileAt, fdPath, linkAt, lstatAt, mkdirAt, openDirAt, resolveInRoot, SafeRoot, setMetaAt, setMetaFd, symlinkAt,
  UnsafeLayerError, UnsafePathError, type RootDir,
} from "@tsbuild/oci";
import type { IgnoreMatcher } from "../context/dockerignore.js";
import { goMatch, hasMeta } from "./go-match.js";
import { copyRegularFile, statTimes } from "./copy-file.js";
import { inlineFileName } from "./inline-file.js";
import type { ChmodSpec } from "./chmod.js";
import { CopyFilter, type FilterState } from "./copy-filter.js";
import { copyUnits, NO_SELECTION, type CopySelection, type CopyUnit } from "./copy-units.js";

export class CopyError extends Error {
  override readonly name = "CopyError";
}

export interface Owner {
  uid: number;
  gid: number;
}

export interface CopySource {
  /** the root sources are read from: the context dir, or a stage's / image's root file system */
  root: string;
  /** .dockerignore of the context */
  ignore?: IgnoreMatcher;
  /** context files are owned by 0:0; files from a stage or image keep their owners */
  isContext: boolean;
  /** source paths (relative) a directory's copy leaves out, with everything below them */
  skip?: (rel: string) => boolean;
}

export interface CopyRequest {
  source: CopySource;
  sources: string[];
  /** inline files (heredocs), copied after the sources: name (inline-file.ts) → content */
  inline?: { name: string; content: string }[];
  dest: string;
  workdir: string;
  targetRoot: string;
  chown?: Owner;
  chmod?: ChmodSpec;
  /** --parents and --exclude (none when absent) */
  selection?: CopySelection;
  /** ADD: extracts a local tar archive (false: not one) into the directory `destDir()` makes and names */
  unpack?: (archivePath: string, destDir: () => string) => Promise<boolean>;
  instruction: "COPY" | "ADD";
}

function clean(rel: string): string {
  return posix.normalize("/" + rel).replace(/^\/+/, "");
}

/** Resolves a source path inside its root, following symlinks there (FollowSymlinks). */
export async function followInRoot(root: string, rel: string): Promise<string> {
  const parent = await resolveInRoot(root, posix.dirname(rel) === "." ? "" : posix.dirname(rel));
  let cur = parent ? `${parent}/${posix.basename(rel)}` : posix.basename(rel);
  for (let hops = 0; hops < 40; hops++) {
    const st = await lstat(posix.join(root, cur)).catch(() => undefined);
    if (!st?.isSymbolicLink()) return cur;
    const target = await readlink(posix.join(root, cur));
    const joined = target.startsWith("/") ? target : posix.join(posix.dirname(cur), target);
    const c = clean(joined);
    const p = await resolveInRoot(root, posix.dirname(c) === "." ? "" : posix.dirname(c));
    cur = p ? `${p}/${posix.basename(c)}` : posix.basename(c);
  }
  throw new CopyError(`too many levels of symbolic links at ${rel}`);
}

/**
 * A directory of the source root, symlinks on the way resolved inside the root (as BuildKit does:
 * an absolute link means the root, ".." stops there): what a glob lists, never a host directory.
 */
async function dirInRoot(src: CopySource, rel: string, pattern: string): Promise<string> {
  try {
    return await resolveInRoot(src.root, rel);
  } catch (e) {
    if (e instanceof UnsafeLayerError) throw new CopyError(`too many levels of symbolic links in "${pattern}"`);
    throw e;
  }
}

/** "a/b" in its parent resolved inside the root, the last name kept (a link there is followed later, inside the root too). */
async function parentInRoot(src: CopySource, rel: string, pattern: string): Promise<string> {
  const slash = rel.lastIndexOf("/");
  if (slash < 0) return rel;
  const parent = await dirInRoot(src, rel.slice(0, slash), pattern);
  return parent ? `${parent}/${rel.slice(slash + 1)}` : rel.slice(slash + 1);
}

/**
 * A plain source: its parent resolved inside the root. A link there that leads (inside the root)
 * nowhere gives where it leads, so that the copy says "not found" of the source as written
 * rather than failing on the path the link names.
 */
async function plainInRoot(src: CopySource, rel: string, pattern: string): Promise<string> {
  const path = await parentInRoot(src, rel, pattern);
  const st = path === "" ? undefined : await lstat(posix.join(src.root, path)).catch(() => undefined);
  if (!st?.isSymbolicLink()) return path;
  const followed = await followInRoot(src.root, path);
  return (await lstat(posix.join(src.root, followed)).catch(() => undefined)) ? path : followed;
}

/**
 * Expands one source (glob or not) into relative paths inside the source root. Every directory on
 * the way is resolved inside the root, so a returned path joined to the root crosses no symlink
 * but its last name: a link out of the context can never make a glob list, or a check stat, a
 * host directory. .dockerignore applies to these resolved paths (where the files really are).
 */
export async function expandSource(src: CopySource, pattern: string): Promise<string[]> {
  const p = clean(pattern);
  if (!hasMeta(p)) return [await plainInRoot(src, p, pattern)];
  const parts = p.split("/");
  let current: string[] = [""];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of current) {
      const real = dir === "" ? "" : await dirInRoot(src, dir, pattern);
      if (!hasMeta(part)) {
        next.push(real ? `${real}/${part}` : part);
        continue;
      }
      const names = await readdir(posix.join(src.root, real)).catch(() => [] as string[]);
      for (const n of names.sort()) if (goMatch(part, n)) next.push(real ? `${real}/${n}` : n);
    }
    current = next;
  }
  return current.filter((r) => !(src.ignore && src.isContext && src.ignore.excluded(r)));
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

/** A filtered walk below a directory source (copy-filter.ts). */
interface Walk {
  filter: CopyFilter;
  /** the entry's path relative to the directory being copied ("" for that directory) */
  rel: string;
  /** its directory's match results (undefined at the top) */
  state: FilterState | undefined;
  /** --parents without wildcards: set once something at or below the path is copied */
  required?: { prefix: string; seen: boolean };
}

/**
 * A directory of the target that a filtered walk makes only once something below it is copied
 * (fsutil's delayed parent directories): made then as a copied directory is (in the way: replaced);
 * one that exists already gets its source's permission bits, nothing else, as fsutil does.
 */
class PendingDir {
  made: RootDir | undefined;
  /** made by this copy (else it existed) */
  fresh = false;
  constructor(private readonly parent: RootDir | PendingDir, private readonly name: string, private readonly src: Stats, private readonly root: SafeRoot) {}

  ensure(): RootDir {
    if (this.made) return this.made;
    const pending = this.parent instanceof PendingDir;
    const parent = this.parent instanceof PendingDir ? this.parent.ensure() : this.parent;
    const existing = pending && (this.parent as PendingDir).fresh ? undefined : lstatAt(parent, this.name);
    if (existing && !existing.isDirectory()) this.root.remove(parent, this.name, existing);
    this.fresh = !existing?.isDirectory();
    if (this.fresh) mkdirAt(parent, this.name);
    const fd = openDirAt(parent, this.name);
    this.made = { fd, rel: parent.rel ? `${parent.rel}/${this.name}` : this.name };
    if (!this.fresh) setMetaFd(fd, { mode: this.src.mode & 0o7777 });
    return this.made;
  }
}

export class Copier {
  /** (dev, ino) of a source file → where it was copied (resolved, relative to the target root): hard links stay hard links */
  private readonly links = new Map<string, string>();
  private safeRoot: SafeRoot | undefined;
  constructor(private readonly req: CopyRequest) {}

  /** The target root, opened on first use; every write into it goes through it. */
  private get root(): SafeRoot {
    this.safeRoot ??= SafeRoot.open(this.req.targetRoot);
    return this.safeRoot;
  }

  /** Closes the target root (after run(), or after the last copyPath/copyDirMeta). */
  close(): void {
    this.safeRoot?.close();
    this.safeRoot = undefined;
  }

  private owner(st: { uid: number; gid: number }): Owner {
    if (this.req.chown) return this.req.chown;
    return this.req.source.isContext ? { uid: 0, gid: 0 } : { uid: st.uid, gid: st.gid };
  }

  /** mkdir -p inside the target root, symlinks followed inside it: created dirs 0755, owned by --chown (or root). */
  private mkdirp(rel: string): RootDir {
    const o = this.req.chown ?? { uid: 0, gid: 0 };
    try {
      return this.root.dir(rel, { mode: 0o755, uid: o.uid, gid: o.gid });
    } catch (e) {
      if (e instanceof UnsafePathError && e.code === "ENOTDIR") throw new CopyError(`cannot create directory ${e.path.startsWith("/") ? "" : "/"}${e.path}: a file is in the way`);
      if (e instanceof UnsafePathError) throw new CopyError(`${this.req.instruction}: ${e.message}`);
      throw e;
    }
  }

  /** A target path (relative): its parent resolved inside the root (and made), the name kept. */
  private target(rel: string): { dir: RootDir; name: string } {
    const dir = this.mkdirp(posix.dirname(rel) === "." ? "" : posix.dirname(rel));
    return { dir, name: posix.basename(rel) };
  }

  /**
   * One entry and, for a directory, everything below it, written as `name` in `dir`. Synchronous on
   * purpose: a COPY of a 20,000-file context is some 120,000 system calls, and each asynchronous one
   * would be a round trip through libuv's thread pool costing several times the call itself.
   */
  private copyEntry(srcRel: string, dir: RootDir, name: string, applyChmod: boolean, inNewDir = false, walk?: Walk): void {
    const srcAbs = posix.join(this.req.source.root, srcRel);
    const st = lstatSync(srcAbs);
    // nothing can be in the way in a directory this copy has just made
    const existing = inNewDir ? undefined : lstatAt(dir, name);
    const o = this.owner(st);
    const mode = this.modeOf(st, applyChmod);
    const meta = { uid: o.uid, gid: o.gid, mode, ...statTimes(st) };
    if (st.isDirectory()) {
      if (existing && !existing.isDirectory()) this.root.remove(dir, name, existing);
      const made = !existing || !existing.isDirectory();
      if (made) mkdirAt(dir, name);
      const fd = openDirAt(dir, name);
      try {
        this.copyChildren(srcRel, { fd, rel: dir.rel ? `${dir.rel}/${name}` : name }, applyChmod, made, walk);
        setMetaFd(fd, meta);
      } finally {
        closeSync(fd);
      }
      return;
    }
    if (existing) this.root.remove(dir, name, existing);
    if (st.isSymbolicLink()) {
      symlinkAt(dir, name, readlinkSync(srcAbs));
      setMetaAt(dir, name, { uid: o.uid, gid: o.gid, ...statTimes(st) });
      return;
    }
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? this.links.get(key) : undefined;
      if (first !== undefined && this.linkTo(first, dir, name)) return;
      copyRegularFile(srcAbs, dir, name, { size: st.size, owner: o, mode, ...statTimes(st) });
      if (st.nlink > 1) this.links.set(key, dir.rel ? `${dir.rel}/${name}` : name);
      return;
    }
    throw new CopyError(`${this.req.instruction}: /${srcRel} is a ${st.isFIFO() ? "fifo" : "special file"}, which cannot be copied`);
  }

  /** A hard link to the copy made earlier at `firstRel`, found again through real directories; false when it is gone. */
  private linkTo(firstRel: string, dir: RootDir, name: string): boolean {
    const slash = firstRel.lastIndexOf("/");
    const fd = this.root.openExact(slash === -1 ? "" : firstRel.slice(0, slash));
    if (fd === undefined) return false;
    try {
      linkAt({ fd, rel: "" }, firstRel.slice(slash + 1), dir, name);
      return true;
    } finally {
      closeSync(fd);
    }
  }

  /** One source entry (a directory with everything below it) to `dstRel`, as COPY copies a directory's contents. */
  copyPath(srcRel: string, dstRel: string): void {
    const { dir, name } = this.target(dstRel);
    this.copyEntry(srcRel, dir, name, true);
  }

  /** A directory's owner, mode and times from its source (after its entries changed). */
  copyDirMeta(srcRel: string, dstRel: string): void {
    const st = lstatSync(posix.join(this.req.source.root, srcRel));
    const o = this.owner(st);
    setMetaFd(this.mkdirp(dstRel).fd, { uid: o.uid, gid: o.gid, mode: this.modeOf(st, true), ...statTimes(st) });
  }

  /** The permission bits an entry copied from `st` gets: its own, or --chmod's. */
  private modeOf(st: Stats, applyChmod: boolean): number {
    const own = st.mode & 0o7777;
    return applyChmod && this.req.chmod ? this.req.chmod.apply(own, st.isDirectory()) : own;
  }

  /** The entries of a source directory into `dir` (with a walk, only those its filter lets through; `dir` may then be pending). */
  private copyChildren(srcRel: string, dir: RootDir | PendingDir, applyChmod: boolean, newDir = false, walk?: Walk): void {
    const names = readdirSync(posix.join(this.req.source.root, srcRel)).sort();
    const ign = this.req.source.isContext ? this.req.source.ignore : undefined;
    for (const n of names) {
      const childSrc = srcRel ? `${srcRel}/${n}` : n;
      if (this.req.source.skip?.(childSrc)) continue;
      if (ign && ign.excluded(childSrc)) {
        const st = lstatSync(posix.join(this.req.source.root, childSrc));
        if (!st.isDirectory() || !ign.mayIncludeBelow(childSrc)) continue;
      }
      if (walk) this.copyFiltered(childSrc, dir, n, applyChmod, newDir, walk);
      else this.copyEntry(childSrc, dir as RootDir, n, applyChmod, newDir);
    }
  }

  /**
   * One entry of a filtered walk (copy-filter.ts): copied (a directory with what passes below it),
   * skipped, or, for a directory that is not copied itself, walked with its target directory
   * pending: made (owner, mode, times from its source) only once something below it is copied.
   */
  private copyFiltered(srcRel: string, dir: RootDir | PendingDir, name: string, applyChmod: boolean, newDir: boolean, walk: Walk): void {
    const rel = walk.rel ? `${walk.rel}/${name}` : name;
    const d = walk.filter.check(rel, walk.state);
    if (!d.include && !d.descend) return;
    const below: Walk = { filter: walk.filter, rel, state: d.state, ...(walk.required ? { required: walk.required } : {}) };
    if (d.include) {
      if (walk.required && rel.startsWith(walk.required.prefix)) walk.required.seen = true;
      const pending = dir instanceof PendingDir;
      const target = pending ? dir.ensure() : dir;
      this.copyEntry(srcRel, target, name, applyChmod, pending ? dir.fresh : newDir, below);
      return;
    }
    const st = lstatSync(posix.join(this.req.source.root, srcRel));
    if (!st.isDirectory()) return;
    const pending = new PendingDir(dir, name, st, this.root);
    try {
      this.copyChildren(srcRel, pending, applyChmod, false, below);
      if (pending.made && pending.fresh) {
        const o = this.owner(st);
        setMetaFd(pending.made.fd, { uid: o.uid, gid: o.gid, mode: this.modeOf(st, applyChmod), ...statTimes(st) });
      }
    } finally {
      if (pending.made) closeSync(pending.made.fd);
    }
  }

  /** Whether `rel` is (or leads, through symlinks inside the root, to) a directory of the target. */
  private isDirInTarget(rel: string): boolean {
    try {
      this.root.dir(rel);
      return true;
    } catch (e) {
      if (e instanceof UnsafePathError) return false;
      throw e;
    }
  }

  async run(): Promise<void> {
    try {
      await this.copyAll();
    } finally {
      this.close();
    }
  }

  private async copyAll(): Promise<void> {
    const { dest, workdir } = this.req;
    const destIsDir = dest.endsWith("/") || dest === "." || dest.endsWith("/.") || dest === "..";
    const destAbs = clean(dest.startsWith("/") ? dest : posix.join(workdir || "/", dest));
    const selection = this.req.selection;
    const matches: { unit: CopyUnit; path: string }[] = [];
    for (const unit of copyUnits(this.req.sources, selection ?? NO_SELECTION)) {
      const s = unit.written;
      const found = await expandSource(this.req.source, unit.path);
      // a wildcard may match nothing at all (BuildKit's AllowEmptyWildcard); a plain path must exist
      if (found.length === 0) continue;
      for (const f of found) {
        let excluded = this.req.source.isContext && this.req.source.ignore?.excluded(f) && f !== "";
        if (excluded && this.req.source.ignore?.mayIncludeBelow(f)) {
          const st = await lstat(posix.join(this.req.source.root, f)).catch(() => undefined);
          if (st?.isDirectory()) excluded = false;
        }
        if (excluded || !(await exists(posix.join(this.req.source.root, f)))) {
          throw new CopyError(`${this.req.instruction} failed: "${s}": not found${excluded ? " (excluded by .dockerignore)" : ""}`);
        }
        matches.push({ unit, path: f });
      }
    }
    // several sources into a destination that is not a directory: each is copied to it in turn (the
    // last one wins), as BuildKit's copies, one per source, do
    for (const { unit, path: m } of matches) {
      this.root.settle(); // no directory got for an earlier source is used again
      const followed = m === "" ? "" : await followInRoot(this.req.source.root, m);
      const st = await lstat(posix.join(this.req.source.root, followed)).catch(() => undefined);
      // a wildcard matched a symlink that leads (inside the root) nowhere
      if (!st) throw new CopyError(`${this.req.instruction} failed: "${unit.written}": not found (/${m} is a symlink to /${followed}, which is not there)`);
      const filter = CopyFilter.of(unit.include !== undefined ? [unit.include] : undefined, selection?.exclude ?? []);
      const required = unit.required !== undefined ? { prefix: unit.required, seen: false } : undefined;
      if (st.isDirectory()) {
        const walk: Walk | undefined = filter ? { filter, rel: "", state: undefined, ...(required ? { required } : {}) } : undefined;
        this.copyChildren(followed, this.mkdirp(destAbs), true, false, walk);
        if (required && !required.seen) throw new CopyError(`${this.req.instruction} failed: "${unit.written}": not found`);
        continue;
      }
      // a file is copied whatever the patterns say (they apply below a directory), but it holds no required path
      if (required) throw new CopyError(`${this.req.instruction} failed: "${unit.written}": not found`);
      const intoDir = destIsDir || this.isDirInTarget(destAbs);
      const targetRel = intoDir ? `${destAbs}/${posix.basename(m)}` : destAbs;
      // an archive is unpacked into the destination itself, made a directory (as BuildKit's unpack:
      // "ADD x.tar /a/b" extracts into /a/b), through its descriptor's path
      // (only a regular file can be an archive: a fifo is never opened, which would wait for a writer)
      if (this.req.unpack && st.isFile() && (await this.req.unpack(posix.join(this.req.source.root, followed), () => fdPath(this.mkdirp(destAbs).fd)))) continue;
      const t = this.target(targetRel);
      this.copyEntry(followed, t.dir, t.name, true);
    }
    // heredocs after the paths, each a file of mode 0644 (or --chmod) owned by root (or --chown)
    for (const f of this.req.inline ?? []) {
      this.root.settle();
      const file = inlineFileName(f.name);
      if ("error" in file) throw new CopyError(`${this.req.instruction} failed: ${file.error}`);
      const intoDir = destIsDir || this.isDirInTarget(destAbs);
      const t = this.target(intoDir ? `${destAbs}/${file.name}` : destAbs);
      const o = this.req.chown ?? { uid: 0, gid: 0 };
      this.root.remove(t.dir, t.name);
      const fd = createFileAt(t.dir, t.name, 0o600);
      try {
        writeSync(fd, f.content);
        setMetaFd(fd, { uid: o.uid, gid: o.gid, mode: this.req.chmod ? this.req.chmod.apply(0o644, false) : 0o644 });
      } finally {
        closeSync(fd);
      }
    }
  }
}

export async function copyFiles(req: CopyRequest): Promise<void> {
  await new Copier(req).run();
}
