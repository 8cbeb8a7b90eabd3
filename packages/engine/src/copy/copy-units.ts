/**
 * A COPY/ADD's sources as the copies they make, with BuildKit's rules for --parents (Dockerfile
 * 1.20): a source keeps its parent directories relative to the source root, or to a `/./` pivot in
 * it. `COPY --parents a/b/c.txt /d/` copies the root's contents that the pattern "a/b/c.txt"
 * selects (giving /d/a/b/c.txt); `COPY --parents a/./b/*.txt /d/` copies a's contents that "b/*.txt"
 * selects (giving /d/b/…). The part before the pivot may be a glob too; a source without wildcards
 * must select something ("not found" otherwise), one with wildcards may select nothing.
 */
import { posix } from "node:path";

/** How COPY/ADD select what they copy beyond the sources themselves. */
export interface CopySelection {
  /** --parents */
  parents: boolean;
  /** --exclude patterns, relative to each source (for --parents, to the root or the pivot) */
  exclude: readonly string[];
}

export const NO_SELECTION: CopySelection = { parents: false, exclude: [] };

export interface CopyUnit {
  /** the source as written (for errors and the digest's listing) */
  written: string;
  /** the path or glob matched in the source root ("" for the root itself) */
  path: string;
  /** --parents: what is copied from below each match (patternmatcher syntax, relative to the match) */
  include?: string;
  /**
   * --parents without wildcards: something at or below this path (relative to the match, a string
   * prefix, as BuildKit's required paths are) must be copied
   */
  required?: string;
}

/** BuildKit's containsWildcards: "*", "?" or "[" not escaped by "\". */
function containsWildcards(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") i++;
    else if (c === "*" || c === "?" || c === "[") return true;
  }
  return false;
}

export function copyUnits(sources: readonly string[], selection: CopySelection): CopyUnit[] {
  return sources.map((written): CopyUnit => {
    if (!selection.parents) return { written, path: written };
    const pivot = written.indexOf("/./");
    const base = pivot === -1 ? "" : written.slice(0, pivot);
    const rest = pivot === -1 ? written : written.slice(pivot + 3);
    const include = posix.normalize(`/${rest}`).replace(/^\/+/, "").replace(/\/+$/, "");
    const unit: CopyUnit = { written, path: base, include };
    if (!containsWildcards(base) && !containsWildcards(rest)) unit.required = include;
    return unit;
  });
}
