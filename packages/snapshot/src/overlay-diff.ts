/**
 * The changes of an overlay snapshot are its upper directory: whiteouts (char device 0:0) become
 * whiteout entries, opaque directories (xattr trusted.overlay.opaque=y, or user.overlay.opaque in a user namespace) an opaque entry right
 * after the directory, files are taken as they are (copied-up files include chmod/chown-only
 * changes). A directory that was only copied up (same metadata as in the layers below) is written
 * only as the parent of something that changed, as containerd's differ does. The cost is
 * proportional to what the step changed, not to the image.
 */
import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { sysHelper, walkDirectory, type LayerEntry } from "@tsbuild/oci";
import { exec } from "./exec.js";
import { overlayXattrs } from "./mounts.js";

/**
 * Directories of the upper dir marked opaque, by `xattr` (mounts.ts): one request to tsbuild-sys
 * (oci/src/sys-helper.ts), else one getfattr process for the whole tree.
 */
async function opaqueDirs(upper: string, xattr: string): Promise<Set<string>> {
  const h = sysHelper();
  if (h) {
    try {
      return new Set(await h.dirsWithXattrY(upper, xattr));
    } catch {
      // gone, or the walk failed: getfattr's reading, as without the helper
    }
  }
  const pattern = xattr.replace(/\./g, "\\.");
  const r = await exec("getfattr", ["-R", "-P", "--absolute-names", "-d", "-m", `^${pattern}$`, "."], { cwd: upper });
  const out = new Set<string>();
  let current: string | undefined;
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("# file: ")) current = line.slice(8).replace(/^\.\/?/, "");
    else if (current !== undefined && line.startsWith(`${xattr}="y"`)) out.add(current);
  }
  return out;
}

/**
 * Whether anything is at `path` in one of the layers below. A directory of the upper dir can be opaque
 * only where the merged view below had something (overlayfs marks a directory opaque when it makes it
 * over a whiteout); the lookup is conservative: anything but "not there" counts as there.
 */
async function presentBelow(path: string, lowers: string[]): Promise<boolean> {
  for (const lower of lowers) {
    try {
      await lstat(join(lower, path));
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") return true;
    }
  }
  return false;
}

/**
 * The opaque directories of an upper dir, read (one getfattr for the whole tree) only when the walk
 * meets a directory that could be one: a step that only made new directories (WORKDIR, a COPY to a
 * new path) spawns no getfattr. Without `lowers` the tree is read at the first directory.
 */
class OpaqueDirs {
  private read?: Promise<Set<string>>;
  constructor(private readonly upper: string, private readonly lowers: string[], private readonly xattr: string) {}

  async has(path: string): Promise<boolean> {
    if (!this.read) {
      if (this.lowers.length && !(await presentBelow(path, this.lowers))) return false;
      this.read = opaqueDirs(this.upper, this.xattr);
    }
    return (await this.read).has(path);
  }
}

/** Whether a directory of the upper dir has exactly the metadata it has in the layers below. */
async function sameAsBelow(e: LayerEntry, lowers: string[]): Promise<boolean> {
  for (const lower of lowers) {
    const st = await lstat(join(lower, e.path)).catch(() => undefined);
    if (!st) continue;
    if (!st.isDirectory()) return false;
    return (st.mode & 0o7777) === e.mode && st.uid === e.uid && st.gid === e.gid && Math.floor(st.mtimeMs) === Math.floor(e.mtime.getTime());
  }
  return false;
}

/**
 * @param lowers the layer directories below, nearest first (to recognise copied-up directories);
 *   without them every upper directory is written.
 */
export async function* overlayDiff(upper: string, lowers: string[] = [], opaqueXattr = overlayXattrs().opaque): AsyncIterable<LayerEntry> {
  const opaque = new OpaqueDirs(upper, lowers, opaqueXattr);
  const pending: LayerEntry[] = []; // unchanged ancestors, written only if something below them is
  const flush = function* (path: string): Iterable<LayerEntry> {
    const keep = pending.filter((p) => path.startsWith(p.path + "/"));
    pending.length = 0;
    yield* keep;
  };
  for await (const e of walkDirectory(upper)) {
    while (pending.length && !e.path.startsWith((pending[pending.length - 1] as LayerEntry).path + "/")) pending.pop();
    const isOpaque = e.type === "dir" && (await opaque.has(e.path));
    if (e.type === "dir" && !isOpaque && lowers.length && (await sameAsBelow(e, lowers))) {
      pending.push(e);
      continue;
    }
    yield* flush(e.path);
    if (e.type === "char" && e.devmajor === 0 && e.devminor === 0) {
      yield { path: e.path, type: "whiteout", mode: 0, uid: 0, gid: 0, mtime: e.mtime };
      continue;
    }
    yield e;
    if (isOpaque) yield { path: e.path, type: "opaque", mode: 0, uid: 0, gid: 0, mtime: e.mtime };
  }
}
