/**
 * Mount stubs, as BuildKit 0.13's MountStubsCleaner with RemoveMountStubsRecursive (what its
 * Dockerfile frontend asks for): runc creates the file or directory a mount needs when the image
 * does not have it (/etc/hosts, /etc/resolv.conf and every RUN --mount target),
 * and every missing directory above it. Each of those paths that did not exist before the step is
 * noted, deepest first (a destination's symlinks resolved inside the root, as runc resolves them);
 * after the step each one still empty (an empty directory, or a non-directory of size 0) is removed,
 * in that order, so `/root/.cache` goes with the cache mounted at `/root/.cache/pip`.
 *
 * The step ran code that may have moved a stub's parent away and put a symlink to anywhere in its
 * place (BuildKit's CVE-2024-23652). So after the step each stub is found again from the root with
 * no symlink followed anywhere on the way (SafeRoot.openExact), examined, removed and re-timed
 * through descriptors: a stub whose path no longer leads through real directories is left alone.
 */
import { closeSync, fstatSync } from "node:fs";
import { posix } from "node:path";
import { lstatAt, openDirAt, readdirAt, removeAt, resolveInRoot, SafeRoot, setMetaFd, type RootDir } from "@tsbuild/oci";

export interface Stubs {
  /** paths (relative to the root) that the mounts will create, each destination's deepest first */
  paths: string[];
  /** the times, before the run, of the existing directories the stubs are made in; put back after */
  parentTimes: Map<string, { atime: number; mtime: number }>;
}

const parentOf = (rel: string) => (rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "");
const nameOf = (rel: string) => rel.slice(rel.lastIndexOf("/") + 1);

/** `fn` with the directory at `rel` opened through real directories only; undefined when it is not one. */
function withExactDir<T>(root: SafeRoot, rel: string, fn: (dir: RootDir) => T): T | undefined {
  const fd = root.openExact(rel);
  if (fd === undefined) return undefined;
  try {
    return fn({ fd, rel });
  } finally {
    closeSync(fd);
  }
}

/** The times of the directory at `rel` (seconds as floats keep sub-microsecond precision). */
function timesOf(root: SafeRoot, rel: string): { atime: number; mtime: number } | undefined {
  return withExactDir(root, rel, (d) => {
    const st = fstatSync(d.fd, { bigint: true });
    return { atime: Number(st.atimeNs) / 1e9, mtime: Number(st.mtimeNs) / 1e9 };
  });
}

/** For each mount destination, every path component from it up that does not exist yet, deepest first. */
export async function findStubs(rootPath: string, destinations: string[]): Promise<Stubs> {
  const root = SafeRoot.open(rootPath);
  try {
    const paths: string[] = [];
    const parentTimes = new Map<string, { atime: number; mtime: number }>();
    for (const dest of destinations) {
      const clean = posix.normalize(`/${dest}`).replace(/^\/+|\/+$/g, "");
      if (clean === "") continue;
      let rel: string;
      try {
        rel = await resolveInRoot(rootPath, clean);
      } catch {
        continue; // a symlink loop: runc fails the mount, nothing is made
      }
      // the first component that is not there (under real directories only); it and all below it are made
      const parts = rel.split("/");
      const chain: string[] = [];
      for (let i = 1; i <= parts.length; i++) {
        const p = parts.slice(0, i).join("/");
        const st = withExactDir(root, parentOf(p), (d) => lstatAt(d, nameOf(p)) ?? null);
        if (st === undefined) break; // not under a real directory: leave it alone
        if (st === null) {
          for (let j = parts.length; j >= i; j--) chain.push(parts.slice(0, j).join("/"));
          break;
        }
      }
      paths.push(...chain);
      const top = chain[chain.length - 1];
      if (top !== undefined && !parentTimes.has(parentOf(top))) {
        const t = timesOf(root, parentOf(top));
        if (t) parentTimes.set(parentOf(top), t);
      }
    }
    return { paths, parentTimes };
  } finally {
    root.close();
  }
}

/** Whether `dir/name` is an empty directory or a non-directory of size 0 (never followed). */
function isEmptyStub(dir: RootDir, name: string): boolean {
  const st = lstatAt(dir, name);
  if (!st) return false;
  if (!st.isDirectory()) return st.size === 0;
  const fd = openDirAt(dir, name);
  try {
    return readdirAt({ fd, rel: dir.rel ? `${dir.rel}/${name}` : name }).length === 0;
  } finally {
    closeSync(fd);
  }
}

/**
 * Removes the stubs still empty, in the order found; a directory a removal changed keeps the times
 * it had just before (as BuildKit), and the directories the stubs were made in get their times from
 * before the run back, so a RUN that changed nothing leaves them unchanged.
 */
export async function removeStubs(rootPath: string, stubs: Stubs): Promise<void> {
  const root = SafeRoot.open(rootPath);
  try {
    for (const rel of stubs.paths) {
      withExactDir(root, parentOf(rel), (d) => {
        if (!isEmptyStub(d, nameOf(rel))) return;
        const st = fstatSync(d.fd, { bigint: true });
        removeAt(d, nameOf(rel));
        try {
          setMetaFd(d.fd, { atime: Number(st.atimeNs) / 1e9, mtime: Number(st.mtimeNs) / 1e9 });
        } catch {
          // the step made the parent something it cannot re-time: what the step left is the layer
        }
      });
    }
    for (const [parent, t] of stubs.parentTimes) {
      try {
        withExactDir(root, parent, (d) => setMetaFd(d.fd, t));
      } catch {
        // as above
      }
    }
  } finally {
    root.close();
  }
}
