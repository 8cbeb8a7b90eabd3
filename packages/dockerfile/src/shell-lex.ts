/**
 * Shell-word expansion with BuildKit's rules (frontend/dockerfile/shell/lex.go): quotes, escapes,
 * `$V`, `${V}` and the `${V<op>word}` operators, and word splitting. Not a shell: no command
 * substitution, no globbing. Used for the instructions and flags where BuildKit expands variables.
 */

import { isSpaceChar } from "./blanks.js";

export class ExpansionError extends Error {
  override readonly name = "ExpansionError";
  /** what went wrong, without the word it went wrong in (the message has both) */
  readonly reason: string;
  constructor(message: string, reason?: string) {
    super(message);
    this.reason = reason ?? message;
  }
}

/** Looks up a variable; `undefined` means unset (different from set to ""). */
export type EnvLookup = (name: string) => string | undefined;

export interface LexOptions {
  /** the Dockerfile escape character: "\\" (default) or "`" */
  escapeToken?: string;
  /** keep quote characters in the result */
  rawQuotes?: boolean;
  /** keep escape characters in the result */
  rawEscapes?: boolean;
  /** leave `$V` / `${V...}` of unset variables as written */
  skipUnsetEnv?: boolean;
  /** treat quotes as ordinary characters */
  skipProcessQuotes?: boolean;
}

export interface ExpansionResult {
  result: string;
  words: string[];
  /** variables that were referenced and set */
  matched: Set<string>;
  /** variables that were referenced and unset */
  unmatched: Set<string>;
}

const EOF = "";

export function mapLookup(env: ReadonlyMap<string, string> | Record<string, string>): EnvLookup {
  if (env instanceof Map) return (k) => env.get(k);
  const rec = env as Record<string, string>;
  return (k) => (Object.prototype.hasOwnProperty.call(rec, k) ? rec[k] : undefined);
}

/** Expands one word (quotes removed, no splitting): BuildKit's ProcessWord. */
export function expandWord(word: string, env: EnvLookup, opts: LexOptions = {}): string {
  return new ShellWord(word, env, opts).run().result;
}

/** Expands and splits into words: BuildKit's ProcessWords. */
export function expandWords(word: string, env: EnvLookup, opts: LexOptions = {}): string[] {
  return new ShellWord(word, env, opts).run().words;
}

/** Expands, reporting which variables were used. */
export function expandWithMatches(word: string, env: EnvLookup, opts: LexOptions = {}): ExpansionResult {
  return new ShellWord(word, env, opts).run();
}

const isSpace = isSpaceChar;
// ASCII first: these run on every character of a word
const isDigit = (ch: string): boolean => {
  const c = ch.length === 1 ? ch.charCodeAt(0) : 0x80;
  return c < 0x80 ? c >= 0x30 && c <= 0x39 : /^\p{Nd}$/u.test(ch);
};
const isLetter = (ch: string): boolean => {
  const c = ch.length === 1 ? ch.charCodeAt(0) : 0x80;
  return c < 0x80 ? (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) : /^\p{L}$/u.test(ch);
};
const isSpecialParam = (ch: string): boolean => "@*#?-$!0".includes(ch) && ch !== "";

class Words {
  private word = "";
  private inWord = false;
  readonly words: string[] = [];
  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = "";
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  get(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = "";
      this.inWord = false;
    }
    return this.words;
  }
}

class ShellWord {
  private readonly chars: string[];
  private pos = 0;
  private readonly escapeToken: string;
  private rawEscapes: boolean;
  private readonly matched = new Set<string>();
  private readonly unmatched = new Set<string>();

  constructor(
    private readonly source: string,
    private readonly env: EnvLookup,
    private readonly opts: LexOptions,
  ) {
    this.chars = Array.from(source);
    this.escapeToken = opts.escapeToken ?? "\\";
    this.rawEscapes = opts.rawEscapes ?? false;
  }

  run(): ExpansionResult {
    try {
      const { result, words } = this.processStopOn(EOF, this.rawEscapes);
      return { result, words, matched: this.matched, unmatched: this.unmatched };
    } catch (e) {
      if (e instanceof ExpansionError) throw new ExpansionError(`failed to process "${this.source}": ${e.message}`, e.message);
      // `${a:-${a:-…}}` a hundred thousand deep runs out of stack: a bad Dockerfile, not a crash
      if (e instanceof RangeError) throw new ExpansionError(`failed to process "${this.source}": substitutions nested too deeply`, "substitutions nested too deeply");
      throw e;
    }
  }

  private peek(): string {
    return this.chars[this.pos] ?? EOF;
  }
  private next(): string {
    const ch = this.chars[this.pos] ?? EOF;
    if (ch !== EOF) this.pos++;
    return ch;
  }

  private getEnv(name: string): string | undefined {
    const v = this.env(name);
    if (v === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return v;
  }

  private processStopOn(stopChar: string, rawEscapes: boolean): { result: string; words: string[] } {
    let result = "";
    const words = new Words();
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      while (this.peek() !== EOF) {
        let ch = this.peek();
        if (stopChar !== EOF && ch === stopChar) {
          this.next();
          return { result, words: words.get() };
        }
        if (ch === "$") {
          const tmp = this.processDollar();
          result += tmp;
          words.addString(tmp);
          continue;
        }
        if (!this.opts.skipProcessQuotes && (ch === "'" || ch === '"')) {
          const tmp = ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += tmp;
          words.addRawString(tmp);
          continue;
        }
        ch = this.next();
        if (ch === this.escapeToken) {
          if (this.rawEscapes) {
            words.addRawChar(ch);
            result += ch;
          }
          ch = this.next();
          if (ch === EOF) break;
          words.addRawChar(ch);
        } else {
          words.addChar(ch);
        }
        result += ch;
      }
      if (stopChar !== EOF) {
        throw new ExpansionError(`unexpected end of statement while looking for matching ${stopChar}`);
      }
      return { result, words: words.get() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    let result = "";
    let ch = this.next();
    if (this.opts.rawQuotes) result += ch;
    for (;;) {
      ch = this.next();
      if (ch === EOF) throw new ExpansionError("unexpected end of statement while looking for matching single-quote");
      if (ch === "'") {
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private processDoubleQuote(): string {
    let result = "";
    let ch = this.next();
    if (this.opts.rawQuotes) result += ch;
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new ExpansionError("unexpected end of statement while looking for matching double-quote");
      if (p === '"') {
        ch = this.next();
        if (this.opts.rawQuotes) result += ch;
        return result;
      }
      if (p === "$") {
        result += this.processDollar();
        continue;
      }
      ch = this.next();
      if (ch === this.escapeToken) {
        const n = this.peek();
        if (n === EOF) continue; // ignore an escape at the end of the word
        if (n === '"' || n === "$" || n === this.escapeToken) {
          if (this.rawEscapes) result += ch;
          ch = this.next();
        }
      }
      result += ch;
    }
  }

  private processName(): string {
    let name = "";
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) return this.next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== "_") break;
      name += this.next();
    }
    return name;
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== "{") {
      const name = this.processName();
      if (name === "") return "$";
      const value = this.getEnv(name);
      if (value === undefined && this.opts.skipUnsetEnv) return "$" + name;
      return value ?? "";
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new ExpansionError("syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") throw new ExpansionError("syntax error: bad substitution");
    const name = this.processName();
    let ch = this.next();
    let chs = ch;
    switch (ch) {
      case "}": {
        const value = this.getEnv(name);
        if (value === undefined && this.opts.skipUnsetEnv) return "${" + name + "}";
        return value ?? "";
      }
      case ":":
      case "+":
      case "-":
      case "?":
      case "#":
      case "%": {
        let nullIsUnset = false;
        if (ch === ":") {
          nullIsUnset = true;
          ch = this.next();
          chs += ch;
        }
        const raw = ch === "#" || ch === "%";
        let word: string;
        try {
          word = this.processStopOn("}", raw).result;
        } catch (e) {
          if (this.peek() === EOF) throw new ExpansionError("syntax error: missing '}'");
          throw e;
        }
        const value = this.getEnv(name);
        if (this.opts.skipUnsetEnv && value === undefined) return "${" + name + chs + word + "}";
        switch (ch) {
          case "-":
            return value === undefined || (nullIsUnset && value === "") ? word : value;
          case "+":
            return value === undefined || (nullIsUnset && value === "") ? "" : word;
          case "?":
            if (value === undefined) throw new ExpansionError(`${name}: ${word !== "" ? word : "is not allowed to be unset"}`);
            if (nullIsUnset && value === "") throw new ExpansionError(`${name}: ${word !== "" ? word : "is not allowed to be empty"}`);
            return value;
          case "%":
          case "#": {
            if (nullIsUnset) throw new ExpansionError(`unsupported modifier (${chs}) in substitution`);
            let greedy = false;
            if (word.startsWith(ch)) {
              greedy = true;
              word = word.slice(1);
            }
            return ch === "%" ? trimSuffix(word, value ?? "", greedy) : trimPrefix(word, value ?? "", greedy);
          }
          default:
            throw new ExpansionError(`unsupported modifier (${chs}) in substitution`);
        }
      }
      case "/": {
        const replaceAll = this.peek() === "/";
        if (replaceAll) this.next();
        let pattern: string;
        try {
          pattern = this.processStopOn("/", true).result;
        } catch (e) {
          if (this.peek() === EOF) throw new ExpansionError("syntax error: missing '/' in ${}");
          throw e;
        }
        let replacement: string;
        try {
          replacement = this.processStopOn("}", true).result;
        } catch (e) {
          if (this.peek() === EOF) throw new ExpansionError("syntax error: missing '}'");
          throw e;
        }
        const value = this.getEnv(name);
        if (this.opts.skipUnsetEnv && value === undefined) return "${" + name + "/" + pattern + "/" + replacement + "}";
        const re = shellPatternToRegex(pattern, true, replaceAll);
        const v = value ?? "";
        if (replaceAll) return v.replace(re, () => replacement);
        const m = re.exec(v);
        return m ? v.slice(0, m.index) + replacement + v.slice(m.index + m[0].length) : v;
      }
      default:
        throw new ExpansionError(`unsupported modifier (${chs}) in substitution`);
    }
  }
}

/** Converts a shell pattern (`*`, `?`, `\` escapes; `[...]` classes) to a regular expression. */
function shellPatternToRegex(pattern: string, greedy: boolean, global = false): RegExp {
  const chars = Array.from(pattern);
  let out = "";
  const star = greedy ? ".*" : ".*?";
  // the first "]" at or after i + 2, kept between `[`s: i only grows, so one search serves many (-1: none left)
  let closeAt = -2;
  for (let i = 0; i < chars.length; i++) {
    const tok = chars[i] as string;
    switch (tok) {
      case "*":
        out += star;
        continue;
      case "?":
        out += ".";
        continue;
      case "\\": {
        const n = chars[i + 1];
        // `}` and `/` inside ${} need escaping in the Dockerfile, but the escape is not part of the pattern
        if (n === "}" || n === "/") continue;
        if (n === undefined) throw new ExpansionError(`invalid pattern (${pattern}) in substitution: trailing backslash`);
        i++;
        out += escapeRegex(n);
        continue;
      }
      case "[": {
        if (closeAt !== -1 && closeAt < i + 2) closeAt = chars.indexOf("]", i + 2);
        const end = closeAt;
        if (end === -1) {
          out += "\\[";
          continue;
        }
        let cls = chars.slice(i + 1, end).join("");
        if (cls.startsWith("!")) cls = "^" + cls.slice(1);
        out += "[" + cls.replace(/\\/g, "\\\\") + "]";
        i = end;
        continue;
      }
      default:
        out += escapeRegex(tok);
    }
  }
  try {
    return new RegExp(out, global ? "gu" : "u");
  } catch (e) {
    throw new ExpansionError(`invalid pattern (${pattern}) in substitution: ${(e as Error).message}`);
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const re = shellPatternToRegex(pattern, greedy);
  const m = re.exec(value);
  if (m && m.index === 0) return value.slice(m[0].length);
  return value;
}

/** Reverses a pattern keeping `\x` escape pairs in order. */
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const parts: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === "\\" && i !== chars.length - 1) {
      parts.push("\\" + chars[i + 1]);
      i++;
    } else {
      parts.push(chars[i] as string);
    }
  }
  return parts.reverse().join("");
}

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const reversed = trimPrefix(reversePattern(pattern), Array.from(value).reverse().join(""), greedy);
  return Array.from(reversed).reverse().join("");
}
