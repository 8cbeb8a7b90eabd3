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

/**
 * One piece of a "regexp" pattern's expression, matched by an automaton over the path's code points
 * (as Go's linear-time regexp package would): a literal; "one" for `?` (any character but "/");
 * "star" for `*` (any run of them); "dstar" for a double star before more (optional: any run of
 * characters but a newline, ending in "/"); "all" for a double star at the end (any run of
 * characters but a newline); or a one-character class. A backtracking RegExp takes exponential time
 * on a pattern of many double stars against a deep path, which a Dockerfile or a context can hand us.
 */
export type Token = { t: "lit"; c: string } | { t: "one" } | { t: "star" } | { t: "dstar" } | { t: "all" } | { t: "class"; re: RegExp };

interface Pattern {
  /** the cleaned pattern, without its "!" */
  text: string;
  exception: boolean;
  kind: Kind;
  /** the pattern as tokens (for "regexp"), matched in linear time; absent when they cannot say it all */
  tokens?: Token[];
  /** the expression (for "regexp"): what decides without tokens (a letter escape, a class with more than characters in it) */
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

/** Characters a class token may hold as they are (anything else in a class leaves the pattern to the RegExp). */
const CLASS_CHAR = /^[^*?[\]\\/]$/u;

/**
 * `[...]` starting at chars[i] as one token, when it holds only characters (what patternmatcher then
 * writes is that class): the token and the index of its "]"; undefined otherwise.
 */
function classToken(chars: string[], i: number): { token: Token; end: number } | undefined {
  let src = "";
  for (let j = i + 1; j < chars.length; j++) {
    const c = chars[j] as string;
    if (c === "]") {
      if (src === "") return undefined;
      try {
        return { token: { t: "class", re: new RegExp(`^[${src}]$`, "u") }, end: j };
      } catch {
        return undefined;
      }
    }
    if (!CLASS_CHAR.test(c)) return undefined;
    src += LITERAL_ESCAPE.has(c) ? `\\${c}` : c;
  }
  return undefined;
}

/**
 * patternmatcher's compile: which of its four ways the pattern matches, and for the last its
 * expression and, when they can say it all, its tokens (which then decide). Exported for tests.
 */
export function compile(text: string): Pick<Pattern, "kind" | "tokens" | "re"> {
  let re = "^";
  let kind: Kind = "exact";
  const tokens: Token[] = [];
  /** the tokens cannot say it all: the RegExp decides */
  let untokenized = false;
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
            tokens.push({ t: "all" });
            kind = "regexp";
          }
        } else {
          re += "(.*/)?";
          tokens.push({ t: "dstar" });
          kind = "regexp";
        }
        if (first) kind = "suffix";
      } else {
        re += "[^/]*";
        tokens.push({ t: "star" });
        kind = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      tokens.push({ t: "one" });
      kind = "regexp";
    } else if (LITERAL_ESCAPE.has(ch)) {
      re += `\\${ch}`;
      tokens.push({ t: "lit", c: ch });
    } else if (ch === "\\") {
      const next = chars[i + 1];
      if (next === undefined) {
        re += "\\\\";
        tokens.push({ t: "lit", c: "\\" });
      } else {
        re += escaped(next, text);
        if (/^[A-Za-z0-9]$/.test(next)) untokenized = true; // \d, \w, \b…: the RegExp's
        else tokens.push({ t: "lit", c: next });
        i++;
        kind = "regexp";
      }
    } else if (ch === "[" || ch === "]") {
      const cls = ch === "[" && !untokenized ? classToken(chars, i) : undefined;
      if (cls) {
        tokens.push(cls.token);
        re += chars.slice(i, cls.end + 1).map((c, n) => (n > 0 && c !== "]" && LITERAL_ESCAPE.has(c) ? `\\${c}` : c)).join("");
        i = cls.end;
      } else {
        re += ch;
        untokenized = true;
      }
      kind = "regexp";
    } else {
      re += ch;
      tokens.push({ t: "lit", c: ch });
    }
  }
  if (kind !== "regexp") return { kind };
  let expr: RegExp;
  try {
    expr = new RegExp(`${re}$`);
  } catch {
    throw new PatternSyntaxError(`syntax error in pattern: ${text}`);
  }
  return untokenized ? { kind, re: expr } : { kind, tokens, re: expr };
}

/** Whether `tokens` match all of `path`: the automaton's states are token indexes (tokens.length accepts). Exported for tests. */
export function matchTokens(tokens: readonly Token[], path: string): boolean {
  const n = tokens.length;
  let states = new Set<number>();
  const add = (set: Set<number>, i: number): void => {
    for (let k = i; k <= n && !set.has(k); k++) {
      set.add(k);
      const t = tokens[k];
      // what may match nothing lets the next token start here too
      if (!t || (t.t !== "star" && t.t !== "dstar" && t.t !== "all")) break;
    }
  };
  add(states, 0);
  for (const ch of path) {
    const next = new Set<number>();
    for (const i of states) {
      const t = tokens[i];
      if (!t) continue;
      switch (t.t) {
        case "lit":
          if (ch === t.c) add(next, i + 1);
          break;
        case "one":
          if (ch !== "/") add(next, i + 1);
          break;
        case "star":
          if (ch !== "/") add(next, i);
          break;
        case "dstar":
          // (.*/)?: anything but a newline, and a "/" may end it
          if (ch !== "\n") add(next, i);
          if (ch === "/") add(next, i + 1);
          break;
        case "all":
          if (ch !== "\n") add(next, i);
          break;
        case "class":
          if (t.re.test(ch)) add(next, i + 1);
          break;
      }
    }
    if (next.size === 0) return false;
    states = next;
  }
  return states.has(n);
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
      return p.tokens ? matchTokens(p.tokens, path) : (p.re as RegExp).test(path);
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
