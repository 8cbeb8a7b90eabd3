/**
 * The patterns of COPY/ADD --exclude (and the pattern COPY --parents selects with), matched as
 * moby's patternmatcher matches them in fsutil's copy: each pattern trimmed and cleaned like Go's
 * filepath.Clean (a leading "/" stays, so "/x" never matches a relative path), "!" making an
 * exception, "*" and "?" within one name, "**" across names, "[...]" classes passed to the regular
 * expression as written, "\" escaping the next character. A path matches when the last pattern
 * that matches it (itself or, through the walk, one of its parent directories) is not an exception.
 *
 * A walk passes each directory's match results down to its entries (`match(path, parent)`), as
 * patternmatcher's MatchesUsingParentResults does, quirks included: a pattern skipped for a
 * directory (an exception while nothing matched yet) does not count as matched for its entries.
 */
import { BadPatternError, goMatch } from "./go-match.js";

export class PatternSyntaxError extends Error {
  override readonly name = "PatternSyntaxError";
}

type Kind = "exact" | "prefix" | "suffix" | "regexp";

interface Pattern {
  /** the cleaned pattern, without its "!" */
  text: string;
  exception: boolean;
  kind: Kind;
  re?: RegExp;
}

/** Go's filepath.Clean on a "/"-separated path. */
export function goClean(p: string): string {
  if (p === "") return ".";
  const abs = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  return abs ? `/${joined}` : joined || ".";
}

/** Regular-expression characters that mean nothing in filepath.Match, escaped (as patternmatcher does). */
const LITERAL_ESCAPE = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);
/** What "\X" may be in a regular expression here, for X a letter or digit (Go's escapes that JavaScript spells alike). */
const LETTER_ESCAPES = new Set(["d", "D", "s", "S", "w", "W", "b", "B", "n", "t", "r", "f", "v"]);

function escaped(ch: string, pattern: string): string {
  if (/^[A-Za-z0-9]$/.test(ch)) {
    if (!LETTER_ESCAPES.has(ch)) throw new PatternSyntaxError(`syntax error in pattern: ${pattern}`);
    return `\\${ch}`;
  }
  return /[\^$\\.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

/** patternmatcher's compile: which of its four ways the pattern matches, and the expression for the last. */
function compile(text: string): Pick<Pattern, "kind" | "re"> {
  let re = "^";
  let kind: Kind = "exact";
  const chars = Array.from(text);
  for (let i = 0, first = true; i < chars.length; i++, first = false) {
    const ch = chars[i] as string;
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        i++;
        if (chars[i + 1] === "/") i++;
        if (i + 1 >= chars.length) {
          // "**" at the end: everything below
          if (kind === "exact") kind = "prefix";
          else {
            re += ".*";
            kind = "regexp";
          }
        } else {
          re += "(.*/)?";
          kind = "regexp";
        }
        if (first) kind = "suffix";
      } else {
        re += "[^/]*";
        kind = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      kind = "regexp";
    } else if (LITERAL_ESCAPE.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === "\\") {
      const next = chars[i + 1];
      if (next === undefined) re += "\\\\";
      else {
        re += escaped(next, text);
        i++;
        kind = "regexp";
      }
    } else if (ch === "[" || ch === "]") {
      re += ch;
      kind = "regexp";
    } else {
      re += ch;
    }
  }
  if (kind !== "regexp") return { kind };
  try {
    return { kind, re: new RegExp(`${re}$`) };
  } catch {
    throw new PatternSyntaxError(`syntax error in pattern: ${text}`);
  }
}

function test(p: Pattern, path: string): boolean {
  switch (p.kind) {
    case "exact":
      return path === p.text;
    case "prefix":
      return path.startsWith(p.text.slice(0, -2));
    case "suffix": {
      const suffix = p.text.slice(2);
      return path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1));
    }
    case "regexp":
      return (p.re as RegExp).test(path);
  }
}

/** Per pattern, whether a directory matched it: what its entries are matched with. */
export type MatchInfo = readonly boolean[];

export class PathPatterns {
  private readonly patterns: Pattern[] = [];
  /** whether some pattern is an exception ("!…"): an excluded directory must then still be walked */
  readonly exceptions: boolean;

  /** @throws PatternSyntaxError for a pattern Go's filepath.Match calls malformed, or a lone "!" */
  constructor(patterns: readonly string[]) {
    for (const raw of patterns) {
      let text = raw.trim();
      if (text === "") continue;
      text = goClean(text);
      const exception = text.startsWith("!");
      if (exception) {
        if (text.length === 1) throw new PatternSyntaxError('illegal exclusion pattern: "!"');
        text = text.slice(1);
      }
      try {
        goMatch(text, ".");
      } catch (e) {
        if (e instanceof BadPatternError) throw new PatternSyntaxError(e.message);
        throw e;
      }
      this.patterns.push({ text, exception, ...compile(text) });
    }
    this.exceptions = this.patterns.some((p) => p.exception);
  }

  /**
   * Whether `path` (relative, "/"-separated) matches, given its directory's results (undefined at
   * the top of a walk: then its parent directories are tried as paths of their own).
   */
  match(path: string, parent: MatchInfo | undefined): { matched: boolean; info: MatchInfo } {
    let matched = false;
    const info = new Array<boolean>(this.patterns.length).fill(false);
    this.patterns.forEach((p, i) => {
      let m = parent?.[i] ?? false;
      if (!m) {
        if (p.exception !== matched) return;
        m = test(p, path);
        if (!m && parent === undefined) {
          const dirs = path.split("/").slice(0, -1);
          for (let n = 1; n <= dirs.length && !m; n++) m = test(p, dirs.slice(0, n).join("/"));
        }
      }
      info[i] = m;
      if (m) matched = !p.exception;
    });
    return { matched, info };
  }
}
