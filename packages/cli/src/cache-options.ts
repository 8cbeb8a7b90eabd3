/** --cache-from / --cache-to for the build command: parsed by the engine, local paths taken from the working directory. */
import { resolve } from "node:path";
import { CacheSpecError, parseCacheFrom, parseCacheTo, type CacheFromSpec, type CacheToSpec } from "@tsbuild/engine";
import { UsageError } from "./args.js";

export function parseCacheOptions(from: string[], to: string[], cwd: string): { cacheFrom: CacheFromSpec[]; cacheTo: CacheToSpec[] } {
  try {
    return {
      cacheFrom: from.map(parseCacheFrom).map((s) => (s.type === "local" ? { ...s, src: resolve(cwd, s.src) } : s)),
      cacheTo: to.map(parseCacheTo).map((s) => (s.type === "local" ? { ...s, dest: resolve(cwd, s.dest) } : s)),
    };
  } catch (e) {
    if (e instanceof CacheSpecError) throw new UsageError(e.message);
    throw e;
  }
}
