/**
 * Go's path/filepath.Match on "/"-separated paths: `*` (no "/"), `?`, `[...]` classes with ranges
 * and `^` negation, `\` escapes; a malformed pattern is an error (ErrBadPattern). COPY/ADD globs use
 * it, as BuildKit does.
 */

export class BadPatternError extends Error {
  override readonly name = "BadPatternError";
  constructor(pattern: string) {
    super(`syntax error in pattern: ${pattern}`);
  }
}

export function hasMeta(p: string): boolean {
  return /[*?[\\]/.test(p);
}

export function goMatch(pattern: string, name: string): boolean {
  const re = compile(pattern);
  return re.test(name);
}

const cache = new Map<string, RegExp>();

function compile(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let re = "^";
  const c = Array.from(pattern);
  for (let i = 0; i < c.length; i++) {
    const ch = c[i] as string;
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "\\") {
      const n = c[++i];
      if (n === undefined) throw new BadPatternError(pattern);
      re += esc(n);
    } else if (ch === "[") {
      let j = i + 1;
      let cls = "";
      if (c[j] === "^") {
        cls += "^";
        j++;
      }
      let first = true;
      for (;;) {
        const x = c[j];
        if (x === undefined) throw new BadPatternError(pattern);
        if (x === "]" && !first) break;
        first = false;
        let lo = x;
        if (lo === "\\") {
          lo = c[++j] as string;
          if (lo === undefined) throw new BadPatternError(pattern);
        } else if (lo === "-" ) throw new BadPatternError(pattern);
        j++;
        if (c[j] === "-" && c[j + 1] !== "]") {
          let hi = c[j + 1] as string;
          j += 2;
          if (hi === "\\") {
            hi = c[j] as string;
            j++;
            if (hi === undefined) throw new BadPatternError(pattern);
          }
          if (hi === undefined) throw new BadPatternError(pattern);
          cls += `${esc(lo)}-${esc(hi)}`;
        } else {
          cls += esc(lo);
        }
      }
      re += `(?![/])[${cls}]`;
      i = j;
    } else re += esc(ch);
  }
  const out = new RegExp(re + "$", "su");
  cache.set(pattern, out);
  return out;
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, (c) => (c === "-" ? "\\x2d" : `\\${c}`));
}
