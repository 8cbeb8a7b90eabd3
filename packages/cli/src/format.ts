/** Human-readable sizes and times, as docker prints them. */

export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  const s = i === 0 ? String(v) : v.toPrecision(3).replace(/\.?0+$/, "");
  return `${s}${units[i]}`;
}

export function timeAgo(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "N/A";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "N/A";
  const s = Math.max(0, Math.round((now - t) / 1000));
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"} ago`;
  if (s < 1) return "Less than a second ago";
  if (s < 60) return plural(s, "second");
  if (s < 3600) return plural(Math.round(s / 60), "minute");
  if (s < 86400 * 2) return plural(Math.round(s / 3600), "hour");
  if (s < 86400 * 14) return plural(Math.round(s / 86400), "day");
  if (s < 86400 * 60) return plural(Math.round(s / 86400 / 7), "week");
  if (s < 86400 * 730) return plural(Math.round(s / 86400 / 30), "month");
  return plural(Math.round(s / 86400 / 365), "year");
}

/** Left-aligned columns separated by three spaces, like docker's tables. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join("").trimEnd()).join("\n") + "\n";
}
