/**
 * Paths inside an image root: entry names normalised (a leading "/" means the image root) and
 * refused when they climb out with "..", and parent directories resolved with symlinks followed
 * INSIDE the root (an absolute link means the image root, never the host's).
 */
import { lstat, readlink } from "node:fs/promises";
import { posix } from "node:path";
import { UnsafeLayerError } from "../errors.js";

/** "./a//b/" → "a/b"; "/etc/x" → "etc/x"; refuses names that climb above the root. */
export function normalizeEntryName(name: string): string {
  if (name.includes("\0")) throw new UnsafeLayerError(name, "NUL byte in name");
  const parts: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (parts.length === 0) throw new UnsafeLayerError(name, "path climbs out of the image root");
      parts.pop();
      continue;
    }
    parts.push(c);
  }
  return parts.join("/");
}

/**
 * Resolves a relative directory path inside root, following symlinks the way the container will
 * see them (clamped at root). Returns the relative resolved path ("" = root). Missing components
 * are kept as they are (to be created).
 */
export async function resolveInRoot(root: string, rel: string, maxLinks = 255): Promise<string> {
  let parts = rel === "" ? [] : rel.split("/");
  const out: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const c = parts.shift() as string;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      out.pop();
      continue;
    }
    const candidate = [...out, c].join("/");
    const st = await lstat(posix.join(root, candidate)).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      if (++hops > maxLinks) throw new UnsafeLayerError(rel, "too many levels of symbolic links");
      const target = await readlink(posix.join(root, candidate));
      const tparts = target.split("/");
      if (target.startsWith("/")) out.length = 0;
      parts = [...tparts, ...parts];
      continue;
    }
    out.push(c);
  }
  return out.join("/");
}
