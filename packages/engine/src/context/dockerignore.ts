/**
 * .dockerignore with moby's patternmatcher rules: one pattern per line, `#` comments, `!`
 * exceptions, `**` for any number of directories, a leading `/` ignored, paths cleaned; a file is
 * excluded when the last matching pattern (itself or one of its parent directories matching) is
 * not an exception.
 */
import { posix } from "node:path";

interface Pattern {
  re: RegExp;
  exclusion: boolean;
  /** the cleaned text, for "could an exception match inside this dir" checks */
  text: string;
}

export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  for (let line of text.split(/\r?\n/)) {
    if (line.startsWith("#")) continue;
    line = line.trim();
    if (line === "") continue;
    let invert = false;
    if (line.startsWith("!")) {
      invert = true;
      line = line.slice(1).trim();
    }
    if (line.length > 0) {
      line = posix.normalize(line.replace(/\\/g, "/"));
      if (line.startsWith("/")) line = line.slice(1) || ".";
      if (line.length > 1 && line.endsWith("/")) line = line.slice(0, -1);
    }
    out.push(invert ? `!${line}` : line);
  }
  return out;
}

function toRegex(pattern: string): RegExp {
  let re = "^";
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        i++;
        if (chars[i + 1] === "/") i++;
        re += i + 1 >= chars.length ? ".*" : "(.*/)?";
      } else {
        re += "[^/]*";
      }
    } else if (ch === "?") {
      re += "[^/]";
    } else if (ch === "\\") {
      const n = chars[++i];
      if (n !== undefined) re += n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    } else if (ch === "[") {
      const end = chars.indexOf("]", i + 1);
      if (end === -1) re += "\\[";
      else {
        // passed to the expression as written, as patternmatcher does: "^" negates, "!" is a character
        const cls = chars.slice(i + 1, end).join("");
        re += `[${cls}]`;
        i = end;
      }
    } else {
      re += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
  }
  return new RegExp(re + "$", "u");
}

export class IgnoreMatcher {
  private readonly patterns: Pattern[];
  constructor(patterns: string[]) {
    this.patterns = patterns.map((p) => {
      const exclusion = p.startsWith("!");
      const text = exclusion ? p.slice(1) : p;
      return { re: toRegex(text), exclusion, text };
    });
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** moby's MatchesOrParentMatches: is this path (relative, "/"-separated) excluded? */
  excluded(path: string): boolean {
    let matched = false;
    const parents = path.split("/");
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let match = p.re.test(path);
      if (!match && parents.length > 1) {
        for (let i = 1; i < parents.length; i++) {
          if (p.re.test(parents.slice(0, i).join("/"))) {
            match = true;
            break;
          }
        }
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * Whether the walk descends into an excluded directory, as fsutil's walker decides it: only when
   * an exception pattern starts with the directory's path literally (e.g. "!dir/sub/file"). The
   * directory is then sent even if nothing below it exists or matches; a wildcard exception such
   * as "!(any)/file" written with a double star does not reopen an excluded directory.
   */
  mayIncludeBelow(dir: string): boolean {
    return this.patterns.some((p) => p.exclusion && p.text.startsWith(dir + "/"));
  }
}
