/**
 * The subordinate ids a user may map into a user namespace (/etc/subuid, /etc/subgid: `USER:START:COUNT`,
 * USER a name or a uid, as shadow's newuidmap reads them), and the maps a rootless build's namespace
 * gets from them: the user itself as 0, then each range in file order from 1.
 */
import { readFileSync } from "node:fs";
import type { IdMapRange } from "@tsbuild/oci";

export interface SubordinateRange {
  start: number;
  count: number;
}

/** The ranges `file` gives the user (by name or by id), in file order; none when the file is missing. */
export function subordinateRanges(file: string, user: { name?: string; id: number }): SubordinateRange[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: SubordinateRange[] = [];
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if (who === undefined || start === undefined || count === undefined) continue;
    if (who !== user.name && who !== String(user.id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isInteger(s) && Number.isInteger(c) && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/** The map of a rootless namespace: `self` as 0, the ranges from 1 on (one that holds `self` is left out). */
export function namespaceMap(self: number, ranges: SubordinateRange[]): IdMapRange[] {
  const map: IdMapRange[] = [{ inside: 0, outside: self, count: 1 }];
  let next = 1;
  for (const r of ranges) {
    if (self >= r.start && self < r.start + r.count) continue;
    map.push({ inside: next, outside: r.start, count: r.count });
    next += r.count;
  }
  return map;
}

/** How many ids a map gives the namespace (0 … n-1). */
export function mappedIds(map: IdMapRange[]): number {
  return map.reduce((n, r) => Math.max(n, r.inside + r.count), 0);
}
