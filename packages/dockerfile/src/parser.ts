/**
 * The Dockerfile parser, line for line BuildKit's frontend/dockerfile/parser: parser directives,
 * the escape character, continuations (with comment and empty lines inside them), instruction
 * arguments per keyword (JSON/exec form with fallback, key=value pairs, whitespace words), leading
 * `--flags`, heredocs, and ONBUILD's inner instruction. Semantics (which flags an instruction
 * allows, stages, ARG scoping) are in instructions.ts and lower.ts.
 */
import type { Directive, Heredoc, Node, ParsedDockerfile, ParseWarning } from "./ast.js";
import { emptyNode, valueNode } from "./ast.js";
import { DockerfileError, type Position } from "./errors.js";
import { parseJsonArray } from "./json-array.js";
import { heredocsFromLine } from "./heredoc.js";
import { isJsSpace, isLineTerminator, isSpaceChar } from "./blanks.js";

const reWhitespace = /[\t\v\f\r ]+/;
/** `#`, the directive's name and `=`; the value is cut out by directiveValue (linear, where a regex backtracks). */
const reDirectiveName = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=/;
const VALID_DIRECTIVES = new Set(["escape", "syntax", "check"]);
const HEREDOC_INSTRUCTIONS = new Set(["add", "copy", "run"]);

/** ONBUILD ONBUILD … deeper than this is refused while parsing (it never lowers; the recursion would overflow). */
const MAX_ONBUILD_NESTING = 1000;

class ParserState {
  escapeToken = "\\";
  /** how many ONBUILDs the instruction being parsed is inside */
  onbuildDepth = 0;
  directivesDone = false;
  readonly seen = new Set<string>();
  readonly directives: Directive[] = [];

  constructor(private readonly file: string) {}

  setEscapeToken(value: string, line: number): void {
    if (value !== "`" && value !== "\\") {
      throw new DockerfileError("directive", `invalid escape token '${value}' does not match \` or \\`, this.file, { line, column: 1 },
        "use `# escape=\\` or `# escape=\``");
    }
    this.escapeToken = value;
  }

  /** BuildKit's DirectiveParser: directives only until the first line that is not one. */
  possibleDirective(line: string, lineNo: number): void {
    if (this.directivesDone) return;
    const m = reDirectiveName.exec(line);
    const value = m ? directiveValue(line, m[0].length) : undefined;
    if (!m || value === undefined) {
      this.directivesDone = true;
      return;
    }
    const name = (m[1] as string).toLowerCase();
    if (!VALID_DIRECTIVES.has(name)) {
      this.directivesDone = true;
      return;
    }
    if (this.seen.has(name)) {
      throw new DockerfileError("directive", `only one ${name} parser directive can be used`, this.file, { line: lineNo, column: 1 });
    }
    this.seen.add(name);
    this.directives.push({ name, value, line: lineNo });
    if (name === "escape") this.setEscapeToken(value, lineNo);
  }
}

/**
 * The value group of `\s*(.+?)\s*$` matched from `from` (what BuildKit's directive regex takes
 * after the `=`), or undefined when it does not match; found in one pass, as the backtracking
 * regex took time quadratic in a run of blanks.
 */
function directiveValue(line: string, from: number): string | undefined {
  let start = from;
  while (start < line.length && isJsSpace(line.charCodeAt(start))) start++;
  let end = line.length;
  while (end > start && isJsSpace(line.charCodeAt(end - 1))) end--;
  if (end > start) {
    for (let k = start; k < end; k++) if (isLineTerminator(line.charCodeAt(k))) return undefined;
    return line.slice(start, end);
  }
  // only blanks after the `=`: the regex gives `(.+?)` the last one that is not a line terminator
  for (let k = line.length - 1; k >= from; k--) if (!isLineTerminator(line.charCodeAt(k))) return line[k];
  return undefined;
}

function trimNewline(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0x0a || s.charCodeAt(end - 1) === 0x0d)) end--;
  return end === s.length ? s : s.slice(0, end);
}
/** The index of the first character that is not `\s` (s.length when there is none). */
function leadingWhitespace(s: string): number {
  let k = 0;
  while (k < s.length && isJsSpace(s.charCodeAt(k))) k++;
  return k;
}
function trimLeadingWhitespace(s: string): string {
  const k = leadingWhitespace(s);
  return k === 0 ? s : s.slice(k);
}
/** `#` after blanks (trailing newlines are blanks too, so they need no trimming first). */
function isComment(s: string): boolean {
  return s.charCodeAt(leadingWhitespace(s)) === 0x23;
}

/** Splits text into lines that keep their "\n" (BuildKit's scanLines). */
function scanLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf("\n", start);
    if (nl === -1) {
      out.push(text.slice(start));
      break;
    }
    out.push(text.slice(start, nl + 1));
    start = nl + 1;
  }
  return out;
}

export interface ParseOptions {
  /** the file name used in messages (default "Dockerfile") */
  file?: string;
}

export function parseDockerfile(text: string, opts: ParseOptions = {}): ParsedDockerfile {
  const file = opts.file ?? "Dockerfile";
  const state = new ParserState(file);
  const lines = scanLines(text);
  const children: Node[] = [];
  const warnings: ParseWarning[] = [];
  let comments: string[] = [];
  let rootStart = -1;
  let rootEnd = -1;
  let currentLine = 0;
  let i = 0;

  const processLine = (raw: string, stripLeft: boolean, lineNo: number): string => {
    let token = trimNewline(raw);
    if (stripLeft) token = trimLeadingWhitespace(token);
    state.possibleDirective(token, lineNo);
    return isComment(token) ? "" : token;
  };
  /** An odd number of escape characters (then only spaces/tabs) ends a continued line. */
  const trimContinuation = (line: string): [string, boolean] => {
    let end = line.length;
    while (end > 0 && (line[end - 1] === " " || line[end - 1] === "\t")) end--;
    let count = 0;
    while (end - count > 0 && line[end - count - 1] === state.escapeToken) count++;
    if (count % 2 === 1) return [line.slice(0, end - 1), false];
    return [line, true];
  };

  while (i < lines.length) {
    let raw = lines[i++] as string;
    if (currentLine === 0 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
    if (isComment(raw)) {
      const c = trimNewline(raw).trim().slice(1).trim();
      if (c === "") comments = [];
      else comments.push(c);
    }
    let line = processLine(raw, true, currentLine + 1);
    currentLine++;
    const startLine = currentLine;
    let isEnd: boolean;
    [line, isEnd] = trimContinuation(line);
    if (isEnd && line.length === 0) continue;
    const column = (trimNewline(raw).length - trimLeadingWhitespace(trimNewline(raw)).length) + 1;

    let buf = line;
    let hasEmptyContinuation = false;
    while (!isEnd && i < lines.length) {
      const nextRaw = lines[i++] as string;
      const processed = processLine(nextRaw, false, currentLine + 1);
      currentLine++;
      if (isComment(nextRaw)) continue;
      if (trimLeadingWhitespace(trimNewline(processed)).length === 0) {
        hasEmptyContinuation = true;
        continue;
      }
      let cont: string;
      [cont, isEnd] = trimContinuation(processed);
      buf += cont;
    }
    if (hasEmptyContinuation) {
      warnings.push({ message: `Empty continuation line found in: ${buf}`, line: startLine });
    }

    const child = nodeFromLine(buf, state, comments, file, { line: startLine, column, endLine: currentLine });
    if (canContainHeredoc(child) && buf.includes("<<")) {
      const heredocs = heredocsFromLine(buf, file, startLine);
      for (const heredoc of heredocs) {
        let terminated = false;
        while (i < lines.length) {
          const hraw = lines[i++] as string;
          currentLine++;
          let candidate = trimNewline(hraw);
          if (heredoc.chomp) candidate = candidate.replace(/^\t+/, "");
          if (candidate === heredoc.name) {
            terminated = true;
            break;
          }
          heredoc.content += hraw;
        }
        if (!terminated) {
          throw new DockerfileError("unterminated-heredoc", `unterminated heredoc <<${heredoc.name}`, file,
            { line: startLine, column, endLine: currentLine }, `end it with a line holding only ${heredoc.name}`);
        }
        child.heredocs.push(heredoc);
      }
    }
    child.startLine = startLine;
    child.endLine = currentLine;
    if (rootStart < 0) rootStart = startLine;
    rootEnd = currentLine;
    children.push(child);
    comments = [];
  }

  if (rootStart < 0) {
    throw new DockerfileError("empty-file", "file with no instructions", file, { line: Math.max(currentLine, 1), column: 1 },
      "a Dockerfile needs at least a FROM instruction");
  }
  return {
    file,
    children,
    directives: state.directives,
    escapeToken: state.escapeToken,
    warnings,
    startLine: rootStart,
    endLine: rootEnd,
    lines: text.split("\n"),
  };
}

function nodeFromLine(line: string, state: ParserState, comments: string[], file: string, position: Required<Position>): Node {
  const { cmd, flags, args } = splitCommand(line);
  const fn = DISPATCH[cmd.toLowerCase()];
  const r = fn ? fn(args, state, { file, position }) : undefined;
  // emptyNode's fields in emptyNode's order, built once: one node per instruction
  return {
    value: cmd,
    next: r ? r.next : [],
    children: [],
    heredocs: [],
    json: r ? r.json : false,
    original: line,
    flags,
    startLine: position.line,
    endLine: position.line,
    column: position.column,
    prevComment: comments,
  };
}

/** Where the instruction being parsed is: errors point at its keyword, over all of its lines. */
interface Where {
  file: string;
  position: Required<Position>;
}
type LineParser = (rest: string, state: ParserState, where: Where) => { next: Node[]; json: boolean };

function splitCommand(line: string): { cmd: string; flags: string[]; args: string } {
  const trimmed = line.trim();
  const m = reWhitespace.exec(trimmed);
  if (!m) return { cmd: trimmed, flags: [], args: "" };
  const cmd = trimmed.slice(0, m.index);
  const { rest, flags } = extractBuilderFlags(trimmed.slice(m.index + m[0].length));
  return { cmd, flags, args: rest.trim() };
}

const isSpace = isSpaceChar;

/** BuildKit's extractBuilderFlags: leading `--x[=y]` words (quotes and `\` handled), `--` ends them. */
export function extractBuilderFlags(line: string): { rest: string; flags: string[] } {
  const words: string[] = [];
  let phase: "spaces" | "word" | "quote" = "spaces";
  let word = "";
  let quote = "";
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    const ch = pos < line.length ? (line[pos] as string) : "";
    if (phase === "spaces") {
      if (pos === line.length) break;
      if (isSpace(ch)) continue;
      if (ch !== "-" || pos + 1 === line.length || line[pos + 1] !== "-") return { rest: line.slice(pos), flags: words };
      phase = "word";
    }
    if (pos === line.length) {
      if (word !== "--" && (blankOK || word.length > 0)) words.push(word);
      break;
    }
    if (phase === "word") {
      if (isSpace(ch)) {
        phase = "spaces";
        if (word === "--") return { rest: line.slice(pos), flags: words };
        if (blankOK || word.length > 0) words.push(word);
        word = "";
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = "quote";
        continue;
      }
      let c = ch;
      if (c === "\\") {
        if (pos + 1 === line.length) continue;
        pos++;
        c = line[pos] as string;
      }
      word += c;
      continue;
    }
    // in quote
    if (ch === quote) {
      phase = "word";
      continue;
    }
    let c = ch;
    if (c === "\\") {
      if (pos + 1 === line.length) {
        phase = "word";
        continue;
      }
      pos++;
      c = line[pos] as string;
    }
    word += c;
  }
  return { rest: "", flags: words };
}

const valueNodes = (values: string[]): Node[] => values.map(valueNode);

/** BuildKit's parseWords: words with quotes kept (removed later by expansion). */
export function parseWords(rest: string, escapeToken: string): string[] {
  const words: string[] = [];
  let phase: "spaces" | "word" | "quote" = "spaces";
  let word = "";
  let quote = "";
  let blankOK = false;
  const chars = Array.from(rest);
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = pos < chars.length ? (chars[pos] as string) : "";
    if (phase === "spaces") {
      if (pos === chars.length) break;
      if (isSpace(ch)) continue;
      phase = "word";
    }
    if (pos === chars.length) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === "word") {
      if (isSpace(ch)) {
        phase = "spaces";
        if (blankOK || word.length > 0) words.push(word);
        word = "";
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = "quote";
      }
      if (ch === escapeToken) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        pos++;
        ch = chars[pos] as string;
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = "word";
    if (ch === escapeToken && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = "word";
        continue;
      }
      pos++;
      word += ch;
      ch = chars[pos] as string;
    }
    word += ch;
  }
  return words;
}

function parseNameVal(rest: string, key: string, state: ParserState, where: Where): Node[] {
  const words = parseWords(rest, state.escapeToken);
  if (words.length === 0) return [];
  if (!(words[0] as string).includes("=")) {
    const m = reWhitespace.exec(rest);
    if (!m) {
      throw new DockerfileError("missing-arguments", `${key} must have two arguments`, where.file, where.position,
        `write ${key} name=value (or ${key} name value)`);
    }
    return valueNodes([rest.slice(0, m.index), rest.slice(m.index + m[0].length), ""]);
  }
  const out: string[] = [];
  for (const w of words) {
    const eq = w.indexOf("=");
    if (eq === -1) {
      throw new DockerfileError("parse", `Syntax error - can't find = in "${w}". Must be of the form: name=value`, where.file, where.position,
        "quote values that contain spaces");
    }
    out.push(w.slice(0, eq), w.slice(eq + 1), "=");
  }
  return valueNodes(out);
}

function parseStringsWhitespaceDelimited(rest: string): Node[] {
  if (rest === "") return [];
  return valueNodes(rest.split(reWhitespace));
}

function parseJSON(rest: string, where: Where): { next: Node[]; json: boolean } | undefined {
  const r = parseJsonArray(rest);
  if (r.kind === "strings") return { next: valueNodes(r.values), json: true };
  if (r.kind === "not-string-array") {
    throw new DockerfileError("bad-json", "JSON arrays may only contain strings", where.file, where.position,
      'write exec form as ["cmd", "arg"], or use shell form');
  }
  return undefined;
}

const parseMaybeJSON: LineParser = (rest, _state, where) => {
  if (rest === "") return { next: [], json: false };
  return parseJSON(rest, where) ?? { next: [emptyNode(rest)], json: false };
};

const parseMaybeJSONToList: LineParser = (rest, _state, where) =>
  parseJSON(rest, where) ?? { next: parseStringsWhitespaceDelimited(rest), json: false };

const parseString: LineParser = (rest) => ({ next: rest === "" ? [] : [emptyNode(rest)], json: false });

const DISPATCH: Record<string, LineParser> = {
  add: parseMaybeJSONToList,
  arg: (rest, state) => ({ next: valueNodes(parseWords(rest, state.escapeToken)), json: false }),
  cmd: parseMaybeJSON,
  copy: parseMaybeJSONToList,
  entrypoint: parseMaybeJSON,
  env: (rest, state, where) => ({ next: parseNameVal(rest, "ENV", state, where), json: false }),
  expose: (rest) => ({ next: parseStringsWhitespaceDelimited(rest), json: false }),
  from: (rest) => ({ next: parseStringsWhitespaceDelimited(rest), json: false }),
  healthcheck: (rest, state, where) => {
    let sep = 0;
    while (sep < rest.length && !isSpace(rest[sep] as string)) sep++;
    let next = sep;
    while (next < rest.length && isSpace(rest[next] as string)) next++;
    if (sep === 0) return { next: [], json: false };
    const cmd = parseMaybeJSON(rest.slice(next), state, where);
    return { next: [emptyNode(rest.slice(0, sep)), ...cmd.next], json: cmd.json };
  },
  label: (rest, state, where) => ({ next: parseNameVal(rest, "LABEL", state, where), json: false }),
  maintainer: parseString,
  onbuild: (rest, state, where) => {
    if (rest === "") return { next: [], json: false };
    // lowering refuses ONBUILD ONBUILD anyway; a chain of thousands would overflow the stack here
    if (state.onbuildDepth >= MAX_ONBUILD_NESTING) {
      throw new DockerfileError("parse", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", where.file, where.position);
    }
    state.onbuildDepth++;
    let inner: Node;
    try {
      inner = nodeFromLine(rest, state, [], where.file, where.position);
    } finally {
      state.onbuildDepth--;
    }
    const holder = emptyNode("");
    holder.children = [inner];
    return { next: [holder], json: false };
  },
  run: parseMaybeJSON,
  shell: parseMaybeJSON,
  stopsignal: parseString,
  user: parseString,
  volume: parseMaybeJSONToList,
  workdir: parseString,
};

function canContainHeredoc(node: Node): boolean {
  let n = node;
  if (n.value.toLowerCase() === "onbuild" && n.next[0] && n.next[0].children.length > 0) n = n.next[0].children[0] as Node;
  return HEREDOC_INSTRUCTIONS.has(n.value.toLowerCase()) && !n.json;
}
