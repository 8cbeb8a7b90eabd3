import { open, rename, mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { ownerStamp } from "./owner-stamp.js";

/**
 * A temp name beside `path` for a file renamed onto it: short and random, never `path` plus a
 * suffix (a 255-byte file name has no room for one, and a suffix is a name someone can plant).
 */
export function tempBeside(path: string): string {
  return join(dirname(path), `.tmp-${ownerStamp()}-${randomBytes(6).toString("hex")}`);
}

/** Writes a small file atomically: temp file in the same directory, fsync, rename, fsync dir. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = tempBeside(path);
  const fh = await open(tmp, "wx", mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}

export async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } catch {
    // some file systems refuse fsync on directories; the rename is still atomic
  } finally {
    await d.close();
  }
}
