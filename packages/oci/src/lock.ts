import { open, rm, stat } from "node:fs/promises";

/**
 * A simple cross-process lock file (O_EXCL create). A lock older than `staleMs` whose owner pid
 * is gone is taken over, so a killed process does not block the store forever.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, staleMs = 30_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      const fh = await open(path, "wx");
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const s = await stat(path).catch(() => undefined);
      if (s && Date.now() - s.mtimeMs > staleMs) await rm(path, { force: true });
      if (Date.now() - start > 120_000) throw new Error(`timed out waiting for lock ${path} (remove it if no tsbuild is running)`);
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
