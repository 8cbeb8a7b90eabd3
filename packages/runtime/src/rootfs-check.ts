/**
 * What a root file system must not have for runc to set a container up on it without writing to
 * the host. runc resolves mount destinations inside the root (securejoin), but a few of its steps
 * join the root's path and a name and let the host's kernel resolve that: /dev/ptmx (removed, then
 * made a symlink), /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr and /dev/core (symlinks), and on
 * cgroup v1 the symlinks of merged hierarchies in /sys/fs/cgroup. So an image whose /dev (or /sys)
 * is a symlink makes runc, as root, create and remove those names wherever the link leads on the
 * host (runc 1.1; BuildKit on the same runc does so too for /dev, checked with the modern oracle).
 * Such a root is refused before runc runs (also for `tsbuild run`).
 */
import { lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";

export class UnsafeRootfsError extends Error {
  override readonly name = "UnsafeRootfsError";
}

/** The top-level names runc writes below through the host's path resolution. */
const JOINED_BY_RUNC = ["dev", "sys"];

/** Throws when `rootfs` (a snapshot's root: trusted itself) has a symlink where runc would follow it on the host. */
export function checkRootfsForRunc(rootfs: string): void {
  for (const name of JOINED_BY_RUNC) {
    const st = lstatSync(join(rootfs, name), { throwIfNoEntry: false });
    if (!st?.isSymbolicLink()) continue;
    let target = "?";
    try {
      target = readlinkSync(join(rootfs, name));
    } catch {
      // (gone meanwhile: still refused)
    }
    throw new UnsafeRootfsError(
      `the image's /${name} is a symlink (to ${target}): runc would follow it on the host to make entries below it (for /dev BuildKit on the same runc does), `
        + `so no RUN can run on this root; make /${name} a directory in the layer that replaced it`,
    );
  }
}
