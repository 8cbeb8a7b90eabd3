import { readdir, readFile, lstat } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

/**
 * Every file under `root` (a store, an output folder) whose bytes contain one of `needles` — as is,
 * or inside a gzip blob (pushed or exported layers) —, as paths relative to `root`. A test that hands
 * a build a secret, a token or a key asserts this is empty after the build.
 */
export async function filesContaining(root: string, needles: (string | Buffer)[]): Promise<string[]> {
  const wanted = needles.map((n) => (typeof n === "string" ? Buffer.from(n) : n)).filter((n) => n.length > 0);
  const found: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const relPath = rel ? `${rel}/${name}` : name;
      const st = await lstat(path);
      if (st.isDirectory()) await walk(path, relPath);
      else if (st.isFile()) {
        let bytes = await readFile(path);
        if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
          try { bytes = Buffer.concat([bytes, gunzipSync(bytes)]); } catch { /* not gzip after all */ }
        }
        if (wanted.some((n) => bytes.includes(n))) found.push(relPath);
      }
    }
  };
  await walk(root, "");
  return found;
}
