/**
 * Mount stubs, as BuildKit's MountStubsCleaner: runc creates the file or directory a mount needs
 * when the image does not have it (/etc/hosts, /etc/resolv.conf, /etc/hostname, RUN --mount
 * targets). Those that did not exist before the step and are still empty after it are removed, so
 * they never reach the layer.
 */
import { lstat, readdir, rm, utimes } from "node:fs/promises";
import { posix } from "node:path";

export interface Stubs {
  /** paths (relative to the root) that the mounts will create */
  paths: string[];
  /** the parents' times before the run, restored after the stubs are removed */
  parentTimes: Map<string, { atime: number; mtime: number }>;
}

/** For each mount destination, the top-most path component that does not exist yet. */
export async function findStubs(root: string, destinations: string[]): Promise<Stubs> {
  const out = new Set<string>();
  for (const dest of destinations) {
    const parts = dest.split("/").filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join("/");
      const st = await lstat(posix.join(root, rel)).catch(() => undefined);
      if (!st) {
        out.add(rel);
        break;
      }
      if (st.isSymbolicLink()) break; // runc resolves it inside the root; leave it alone
    }
  }
  // seconds as floats keep sub-microsecond precision (a Date would round to milliseconds)
  const parentTimes = new Map<string, { atime: number; mtime: number }>();
  for (const rel of out) {
    const parent = posix.dirname(rel) === "." ? "" : posix.dirname(rel);
    const st = await lstat(posix.join(root, parent), { bigint: true }).catch(() => undefined);
    if (st) parentTimes.set(parent, { atime: Number(st.atimeNs) / 1e9, mtime: Number(st.mtimeNs) / 1e9 });
  }
  return { paths: [...out], parentTimes };
}

async function isEmptyTree(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return true;
  if (st.isFile()) return st.size === 0;
  if (!st.isDirectory()) return false;
  for (const n of await readdir(path)) if (!(await isEmptyTree(posix.join(path, n)))) return false;
  return true;
}

/** Removes the stubs still empty, and puts their parents' times back so the parents are unchanged. */
export async function removeStubs(root: string, stubs: Stubs): Promise<void> {
  for (const rel of stubs.paths) {
    const p = posix.join(root, rel);
    if (await isEmptyTree(p)) await rm(p, { recursive: true, force: true });
  }
  for (const [parent, t] of stubs.parentTimes) await utimes(posix.join(root, parent), t.atime, t.mtime).catch(() => undefined);
}
