/**
 * What a COPY/ADD copies from below a directory source when it has --exclude patterns or, for
 * --parents, an include pattern: fsutil's copy rules. Paths are relative to the directory being
 * copied (the source as matched; for --parents the context root or the `/./` pivot); the source
 * itself is never filtered, nor is a file a wildcard source matches (BuildKit resolves the wildcard
 * first and filters below each match: moby/buildkit#5489). An entry is copied when the include
 * pattern (if any) matches it or a directory above it, and no --exclude pattern does. A directory
 * that is not copied itself is still walked when something below it may be (an include pattern,
 * or an exception among the excludes), and made in the target only once something below it is
 * copied (with its source's owner, mode and times, as a copied directory gets them).
 */
import { PathPatterns, type MatchInfo } from "./path-patterns.js";

/** A directory's match results, handed to its entries. */
export interface FilterState {
  include?: MatchInfo;
  exclude?: MatchInfo;
}

export interface FilterDecision {
  /** the entry is copied (a directory with what below it passes) */
  include: boolean;
  /** a directory not copied itself is walked for entries that are */
  descend: boolean;
  state: FilterState;
}

export class CopyFilter {
  private readonly include: PathPatterns | undefined;
  private readonly exclude: PathPatterns | undefined;

  /** @throws PatternSyntaxError (path-patterns.ts) */
  private constructor(include: readonly string[] | undefined, exclude: readonly string[]) {
    this.include = include ? new PathPatterns(include) : undefined;
    this.exclude = exclude.length ? new PathPatterns(exclude) : undefined;
  }

  /** The filter for an include pattern (--parents) and --exclude patterns; undefined when nothing is filtered. */
  static of(include: readonly string[] | undefined, exclude: readonly string[]): CopyFilter | undefined {
    return include || exclude.length ? new CopyFilter(include, exclude) : undefined;
  }

  /** The decision for the entry at `rel` below the copied directory, from its directory's state (undefined at the top). */
  check(rel: string, parent: FilterState | undefined): FilterDecision {
    const state: FilterState = {};
    let include = true;
    if (this.include) {
      const r = this.include.match(rel, parent?.include);
      state.include = r.info;
      include = r.matched;
    }
    let excluded = false;
    if (this.exclude) {
      const r = this.exclude.match(rel, parent?.exclude);
      state.exclude = r.info;
      excluded = r.matched;
    }
    if (excluded) include = false;
    // an excluded directory is not walked unless an exception may bring back something below it
    const descend = include || !excluded || (this.exclude?.exceptions ?? false);
    return { include, descend, state };
  }
}
