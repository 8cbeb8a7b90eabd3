/**
 * A capability of a snapshotter: looking a directory up in a committed snapshot without mounting
 * it (a WORKDIR whose directory is there changes nothing, and then needs no snapshot). The answer
 * is conservative: true only when the path is certainly a directory reached through real
 * directories (no symlink on the way); false when it is not, or when the snapshotter cannot tell
 * cheaply (then the caller does the step on a snapshot, as without the capability).
 */
import { lstatSync, type Stats } from "node:fs";
import { join } from "node:path";
import { sysHelper } from "@tsbuild/oci";

export interface DirectoryLookup {
  /** Whether `path` (relative to the root, "" the root) is certainly a real directory in the committed snapshot `name` (undefined: the empty root). */
  isDirectory(name: string | undefined, path: string): Promise<boolean>;
}

/** lstat, undefined where nothing is (ENOENT/ENOTDIR); other errors are "unsure" (thrown). */
function entryAt(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false }) ?? undefined;
}

/**
 * The lookup overlayfs would make over `layers` (layer directories, nearest first, in overlay
 * format: whiteouts are 0:0 character devices, opaque directories carry the xattr `opaque`): each
 * component is taken from the nearest layer that has it, lower layers counting only while the
 * parent is a directory there and not opaque. Needs tsbuild-sys for the opaque xattr (false without it).
 */
export async function overlayIsDirectory(layers: string[], path: string, opaque: string): Promise<boolean> {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0) return true;
  if (parts.includes("..") || layers.length === 0) return false;
  const h = sysHelper();
  if (!h) return false;
  const isOpaque = async (dir: string) => (await h.getXattr(dir, opaque))?.toString("latin1") === "y";
  let from = 0; // the nearest layer holding `prefix` (a directory)
  let prefix = "";
  for (const part of parts) {
    const child = prefix ? `${prefix}/${part}` : part;
    let found = -1;
    for (let i = from; i < layers.length; i++) {
      const layer = layers[i] as string;
      if (i > from) {
        // below the nearest, the parent merges only where it is a directory too
        const p = prefix ? entryAt(join(layer, prefix)) : undefined;
        if (prefix && !p) continue;
        if (p && !p.isDirectory()) return false;
      }
      const c = entryAt(join(layer, child));
      if (c) {
        if (!c.isDirectory()) return false; // a file, a symlink, a whiteout
        found = i;
        break;
      }
      if (await isOpaque(prefix ? join(layer, prefix) : layer)) return false;
    }
    if (found < 0) return false;
    from = found;
    prefix = child;
  }
  return true;
}

/** The same in a full tree (the copy snapshotter's committed snapshots). */
export function treeIsDirectory(tree: string, path: string): boolean {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return false;
  let rel = "";
  for (const part of parts) {
    rel = rel ? `${rel}/${part}` : part;
    if (!entryAt(join(tree, rel))?.isDirectory()) return false;
  }
  return true;
}
