/**
 * What changed between two listings of one COPY source (context-listing.ts), without making maps of
 * 20,000 lines: both are walks in the same order, so they are compared side by side, and only the
 * lines that differ are parsed. A path whose line differs, or that is in one listing only, is
 * changed; any path whose lines are equal is certainly unchanged (each path has one line).
 */
import { entryPath } from "./listing.js";

export interface ListingDiff {
  /** the paths that were added, removed or changed, in string order */
  changed: string[];
  /** the lines of the changed paths before (none: added) */
  before: Map<string, string>;
  /** the lines of the changed paths after (none: removed) */
  after: Map<string, string>;
  /** the line of the source itself (the walk's first entry), before and after */
  rootBefore: string;
  rootAfter: string;
  /** how many entries the new listing has */
  entries: number;
}

/**
 * Per path component, as the walk orders them: a directory's entries right after it. Names compare
 * as JavaScript strings (UTF-16 code units), as the walk's readdirSync().sort() orders them; not
 * oci's compareWalkOrder (UTF-8 bytes), which differs for names mixing astral and U+E000–U+FFFF characters.
 */
function walkOrder(a: string, b: string): number {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as string) < (y[i] as string) ? -1 : 1;
  return x.length - y.length;
}

/** The entry lines of a listing of one source, or undefined for another kind (several sources, a followed link). */
function entryLines(lines: string[]): string[] | undefined {
  const out = lines.filter((l) => l !== "");
  if (!out[0]?.startsWith("source ") || out.slice(1).some((l) => l.startsWith("source ") || l.startsWith("follow "))) return undefined;
  return out.slice(1);
}

/** @returns undefined when the listings are not each one walk of one source, or more than `max` paths changed */
export function diffListings(beforeLines: string[], afterLines: string[], max: number): ListingDiff | undefined {
  const b = entryLines(beforeLines);
  const a = entryLines(afterLines);
  if (!b?.length || !a?.length) return undefined;
  const before = new Map<string, string>();
  const after = new Map<string, string>();
  let i = 0;
  let j = 0;
  while (i < b.length || j < a.length) {
    const lb = b[i];
    const la = a[j];
    if (lb !== undefined && lb === la) {
      i++;
      j++;
      continue;
    }
    const pb = lb === undefined ? undefined : entryPath(lb);
    const pa = la === undefined ? undefined : entryPath(la);
    if (pb !== undefined && (pa === undefined || walkOrder(pb, pa) <= 0)) {
      before.set(pb, lb as string);
      i++;
    }
    if (pa !== undefined && (pb === undefined || walkOrder(pa, pb) <= 0)) {
      after.set(pa, la as string);
      j++;
    }
    if (before.size + after.size > 2 * max + 2) return undefined;
  }
  const changed = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p)).sort();
  if (changed.length > max) return undefined;
  return { changed, before, after, rootBefore: b[0] as string, rootAfter: a[0] as string, entries: a.length };
}
