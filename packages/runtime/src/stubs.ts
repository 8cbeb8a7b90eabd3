/**
 * Mount stubs, as BuildKit's MountStubsCleaner: runc creates the file or directory a mount needs
 * when the image does not have it (/etc/hosts, /etc/resolv.conf, /etc/hostname, RUN --mount
 * targets). Those that did not exist before the step and are still empty after it are removed, so
 * they never reach the layer.
 *
 * The step ran code that may have moved a stub's parent away and put a symlink to anywhere in its
 * place (BuildKit's CVE-2024-23652). So after the step each stub is found again from the root with
 * no symlink followed anywhere on the way (SafeRoot.openExact), examined, removed and re-timed
 * through descriptors: a stub whose path no longer leads through real directories is left alone.
 */
import { closeSync, fstatSync } from "node:fs";
import { lstatAt, openDirAt, readdirAt, removeAt, SafeRoot, setMetaFd, type RootDir } from "@tsbuild/oci";

export interface Stubs {
  /** paths (relative to the root) that the mounts will create */
  paths: string[];
  /** the parents' times before the run, restored after the stubs are removed */
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

/** For each mount destination, the top-most path component that does not exist yet. */
export async function findStubs(rootPath: string, destinations: string[]): Promise<Stubs> {
  const root = SafeRoot.open(rootPath);
  try {
    const out = new Set<string>();
    for (const dest of destinations) {
      const parts = dest.split("/").filter(Boolean);
      for (let i = 1; i <= parts.length; i++) {
        const rel = parts.slice(0, i).join("/");
        const st = withExactDir(root, parentOf(rel), (d) => lstatAt(d, nameOf(rel)) ?? null);
        if (st === undefined) break; // a symlink above: runc resolves it inside the root; leave it alone
        if (st === null) {
          out.add(rel);
          break;
        }
        if (st.isSymbolicLink()) break;
      }
    }
    // seconds as floats keep sub-microsecond precision (a Date would round to milliseconds)
    const parentTimes = new Map<string, { atime: number; mtime: number }>();
    for (const rel of out) {
      const parent = parentOf(rel);
      const t = withExactDir(root, parent, (d) => {
        const st = fstatSync(d.fd, { bigint: true });
        return { atime: Number(st.atimeNs) / 1e9, mtime: Number(st.mtimeNs) / 1e9 };
      });
      if (t) parentTimes.set(parent, t);
    }
    return { paths: [...out], parentTimes };
  } finally {
    root.close();
  }
}

/** Whether `dir/name` is absent, an empty file, or a directory of nothing but such (never followed). */
function isEmptyTree(dir: RootDir, name: string): boolean {
  const st = lstatAt(dir, name);
  if (!st) return true;
  if (st.isFile()) return st.size === 0;
  if (!st.isDirectory()) return false;
  const fd = openDirAt(dir, name);
  try {
    const sub = { fd, rel: dir.rel ? `${dir.rel}/${name}` : name };
    return readdirAt(sub).every((n) => isEmptyTree(sub, n));
  } finally {
    closeSync(fd);
  }
}

/** Removes the stubs still empty, and puts their parents' times back so the parents are unchanged. */
export async function removeStubs(rootPath: string, stubs: Stubs): Promise<void> {
  const root = SafeRoot.open(rootPath);
  try {
    for (const rel of stubs.paths) {
      withExactDir(root, parentOf(rel), (d) => {
        if (isEmptyTree(d, nameOf(rel))) removeAt(d, nameOf(rel));
      });
    }
    for (const [parent, t] of stubs.parentTimes) {
      try {
        withExactDir(root, parent, (d) => setMetaFd(d.fd, t));
      } catch {
        // the step made the parent something it cannot re-time: what the step left is the layer
      }
    }
  } finally {
    root.close();
  }
}
