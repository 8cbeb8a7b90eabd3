/**
 * COPY and ADD as file operations on a writable root (no container), with BuildKit's rules:
 * destination relative to WORKDIR, a trailing "/" (or ".") meaning a directory, several sources
 * needing a directory, parents created (0755, owned like --chown), a directory source copying its
 * contents, Go filepath.Match globs (no match is an error), sources never leaving their root,
 * symlinks copied as links, context files owned by 0:0 unless --chown, modes and mtimes kept,
 * --chmod on everything copied. Every target path is resolved inside the target root.
 */
import { chmod, lchown, lstat, mkdir, readdir, readlink, rm, writeFile } from "node:fs/promises";
import {
  chmodSync, lchownSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync,
} from "node:fs";
import { posix } from "node:path";
import { resolveInRoot, UnsafeLayerError } from "@tsbuild/oci";
import type { IgnoreMatcher } from "../context/dockerignore.js";
import { goMatch, hasMeta } from "./go-match.js";
import { copyRegularFile, keepTimes, statTimes } from "./copy-file.js";

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
}

export interface CopyRequest {
  source: CopySource;
  sources: string[];
  /** inline files (heredocs): name → content */
  inline?: { name: string; content: string }[];
  dest: string;
  workdir: string;
  targetRoot: string;
  chown?: Owner;
  chmod?: number;
  /** ADD: extract local tar archives */
  unpack?: (archivePath: string, destDir: string) => Promise<boolean>;
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

export class Copier {
  /** (dev, ino) of a source file → where it was copied: hard links stay hard links */
  private readonly links = new Map<string, string>();
  constructor(private readonly req: CopyRequest) {}

  private owner(st: { uid: number; gid: number }): Owner {
    if (this.req.chown) return this.req.chown;
    return this.req.source.isContext ? { uid: 0, gid: 0 } : { uid: st.uid, gid: st.gid };
  }

  /** mkdir -p inside the target root: created dirs 0755, owned by --chown (or root). */
  private async mkdirp(rel: string): Promise<string> {
    const parts = rel.split("/").filter(Boolean);
    let resolved = "";
    for (const part of parts) {
      const candidate = await resolveInRoot(this.req.targetRoot, resolved ? `${resolved}/${part}` : part);
      const abs = posix.join(this.req.targetRoot, candidate);
      const st = await lstat(abs).catch(() => undefined);
      if (!st) {
        await mkdir(abs, { mode: 0o755 });
        await chmod(abs, 0o755);
        const o = this.req.chown ?? { uid: 0, gid: 0 };
        await lchown(abs, o.uid, o.gid);
      } else if (!st.isDirectory()) {
        throw new CopyError(`cannot create directory /${candidate}: a file is in the way`);
      }
      resolved = candidate;
    }
    return resolved;
  }

  /** A target path (relative) resolved inside the root: its parent resolved, the name kept. */
  private async target(rel: string): Promise<string> {
    const dir = posix.dirname(rel) === "." ? "" : posix.dirname(rel);
    const parent = await this.mkdirp(dir);
    const name = posix.basename(rel);
    return parent ? `${parent}/${name}` : name;
  }

  /**
   * One entry and, for a directory, everything below it. Synchronous on purpose: a COPY of a
   * 20,000-file context is some 120,000 system calls, and each asynchronous one would be a round
   * trip through libuv's thread pool costing several times the call itself.
   */
  private copyEntry(srcRel: string, dstRel: string, applyChmod: boolean, inNewDir = false): void {
    const srcAbs = posix.join(this.req.source.root, srcRel);
    const st = lstatSync(srcAbs);
    const dstAbs = posix.join(this.req.targetRoot, dstRel);
    // nothing can be in the way in a directory this copy has just made
    const existing = inNewDir ? undefined : lstatSync(dstAbs, { throwIfNoEntry: false });
    const o = this.owner(st);
    const mode = applyChmod && this.req.chmod !== undefined ? this.req.chmod : st.mode & 0o7777;
    if (st.isDirectory()) {
      if (existing && !existing.isDirectory()) rmSync(dstAbs, { force: true });
      const made = !existing || !existing.isDirectory();
      if (made) mkdirSync(dstAbs);
      this.copyChildren(srcRel, dstRel, applyChmod, made);
      lchownSync(dstAbs, o.uid, o.gid);
      chmodSync(dstAbs, mode);
      keepTimes(dstAbs, st);
      return;
    }
    if (existing) rmSync(dstAbs, { recursive: true, force: true });
    if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(srcAbs), dstAbs);
      lchownSync(dstAbs, o.uid, o.gid);
      keepTimes(dstAbs, st);
      return;
    }
    if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? this.links.get(key) : undefined;
      if (first) {
        linkSync(first, dstAbs);
        return;
      }
      copyRegularFile(srcAbs, dstAbs, { size: st.size, owner: o, mode, ...statTimes(st) });
      if (st.nlink > 1) this.links.set(key, dstAbs);
      return;
    }
    throw new CopyError(`${this.req.instruction}: /${srcRel} is a ${st.isFIFO() ? "fifo" : "special file"}, which cannot be copied`);
  }

  /** One source entry (a directory with everything below it) to `dstRel`, as COPY copies a directory's contents. */
  copyPath(srcRel: string, dstRel: string): void {
    this.copyEntry(srcRel, dstRel, true);
  }

  /** A directory's owner, mode and times from its source (after its entries changed). */
  copyDirMeta(srcRel: string, dstRel: string): void {
    const st = lstatSync(posix.join(this.req.source.root, srcRel));
    const dstAbs = posix.join(this.req.targetRoot, dstRel);
    const o = this.owner(st);
    lchownSync(dstAbs, o.uid, o.gid);
    chmodSync(dstAbs, this.req.chmod ?? st.mode & 0o7777);
    keepTimes(dstAbs, st);
  }

  private copyChildren(srcRel: string, dstRel: string, applyChmod: boolean, newDir = false): void {
    const names = readdirSync(posix.join(this.req.source.root, srcRel)).sort();
    const ign = this.req.source.isContext ? this.req.source.ignore : undefined;
    for (const n of names) {
      const childSrc = srcRel ? `${srcRel}/${n}` : n;
      if (ign && ign.excluded(childSrc)) {
        const st = lstatSync(posix.join(this.req.source.root, childSrc));
        if (!st.isDirectory() || !ign.mayIncludeBelow(childSrc)) continue;
      }
      this.copyEntry(childSrc, dstRel ? `${dstRel}/${n}` : n, applyChmod, newDir);
    }
  }

  async run(): Promise<void> {
    const { dest, workdir } = this.req;
    const destIsDir = dest.endsWith("/") || dest === "." || dest.endsWith("/.") || dest === "..";
    const destAbs = clean(dest.startsWith("/") ? dest : posix.join(workdir || "/", dest));
    const matches: string[] = [];
    for (const s of this.req.sources) {
      const found = await expandSource(this.req.source, s);
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
        matches.push(f);
      }
    }
    const count = matches.length + (this.req.inline?.length ?? 0);
    if ((this.req.sources.length + (this.req.inline?.length ?? 0) > 1 || count > 1) && !destIsDir) {
      throw new CopyError(`When using ${this.req.instruction} with more than one source file, the destination must be a directory and end with a /`);
    }
    for (const m of matches) {
      const followed = m === "" ? "" : await followInRoot(this.req.source.root, m);
      const st = await lstat(posix.join(this.req.source.root, followed));
      if (st.isDirectory()) {
        const dir = await this.mkdirp(destAbs);
        this.copyChildren(followed, dir, true);
        continue;
      }
      const destIsExistingDir = !destIsDir && (await lstat(posix.join(this.req.targetRoot, await resolveInRoot(this.req.targetRoot, destAbs))).catch(() => undefined))?.isDirectory();
      const targetRel = destIsDir || destIsExistingDir ? `${destAbs}/${posix.basename(m)}` : destAbs;
      if (this.req.unpack) {
        const dir = await this.mkdirp(destIsDir || destIsExistingDir ? destAbs : posix.dirname(destAbs));
        if (await this.req.unpack(posix.join(this.req.source.root, followed), posix.join(this.req.targetRoot, destIsDir || destIsExistingDir ? dir : (await this.target(destAbs)).replace(/\/[^/]*$/, "")))) continue;
      }
      const t = await this.target(targetRel);
      this.copyEntry(followed, t, true);
    }
    for (const f of this.req.inline ?? []) {
      const t = await this.target(destIsDir ? `${destAbs}/${f.name}` : destAbs);
      const abs = posix.join(this.req.targetRoot, t);
      await rm(abs, { recursive: true, force: true });
      await writeFile(abs, f.content);
      const o = this.req.chown ?? { uid: 0, gid: 0 };
      await lchown(abs, o.uid, o.gid);
      await chmod(abs, this.req.chmod ?? 0o644);
    }
  }
}

export async function copyFiles(req: CopyRequest): Promise<void> {
  await new Copier(req).run();
}
