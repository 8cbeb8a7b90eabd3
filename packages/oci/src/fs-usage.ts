import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Disk space a directory tree takes (allocated blocks, each inode counted once, not crossing into
 * other file systems such as a mounted overlay: `du -sx`); 0 when it does not exist. Files
 * vanishing during the walk are skipped.
 */
export async function dirSize(dir: string, seen = new Set<string>(), dev?: number): Promise<number> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st || (dev !== undefined && st.dev !== dev)) return 0;
  const id = `${st.dev}:${st.ino}`;
  if (seen.has(id)) return 0;
  seen.add(id);
  let total = st.blocks * 512;
  if (!st.isDirectory()) return total;
  for (const n of await readdir(dir).catch(() => [] as string[])) total += await dirSize(join(dir, n), seen, st.dev);
  return total;
}
