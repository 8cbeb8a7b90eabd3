/** Sizes and durations as docker's flags take them (`--keep-storage 5GB`, `--filter until=24h`). */
import { UsageError } from "./args.js";

const SIZE_UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

/** `5GB`, `512m`, `1.5g`, `1000` → bytes (binary units, as docker's RAMInBytes reads them). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = SIZE_UNITS[(m?.[2] ?? "").toLowerCase()];
  if (!m || unit === undefined) throw new UsageError(`invalid size "${text}" (e.g. 5GB, 512MB, 1000)`);
  return Math.floor(Number(m[1]) * unit);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go durations: `24h`, `1h30m`, `90s`, `500ms` → milliseconds. */
export function parseDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    end = re.lastIndex;
  }
  if (!text || end !== text.length) throw new UsageError(`invalid duration "${text}" (e.g. 24h, 1h30m, 90s)`);
  return total;
}
