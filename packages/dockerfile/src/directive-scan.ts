/**
 * Finding one parser directive in a Dockerfile's text before it is parsed, as BuildKit's
 * parser.DetectSyntax / parser.ParseDirective find `syntax` and `check`: a byte-order mark and a
 * first line starting `#!` (a shebang) are skipped, then directives are read from the first lines
 * while each is one (`# name=value`, leading blanks after the comment mark allowed, but not before
 * it); the first line that is not a known directive ends them. For `syntax` only, BuildKit also
 * looks for `// syntax=…` lines and for a JSON document `{"syntax": "…"}` (forms other frontends'
 * languages use). The Dockerfile parser (parser.ts) reads directives by its own rules for
 * `escape`; this scan is what decides the frontend.
 */

/** The directive names BuildKit knows; any other `# name=value` line ends the directives. */
const KNOWN = new Set(["syntax", "escape", "check"]);

export interface FoundDirective {
  /** the value's first word (for syntax: the frontend image; for check: the options) */
  value: string;
  /** the whole value, as BuildKit passes it on as the frontend's `cmdline` */
  cmdline: string;
  /** 1-based line of the directive (the line of the document for the JSON form) */
  line: number;
  form: "#" | "//" | "json";
}

/** Go's `\s` (regexp, RE2): ASCII blanks only, without \v. */
function isGoSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}
/** Go's unicode.IsSpace, which bytes.TrimLeftFunc uses after the comment mark. */
function isUnicodeSpace(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/** `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` on one line, without a regex (a line may be long). */
function matchDirective(line: string): { name: string; value: string } | undefined {
  let k = 0;
  const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  if (!isAlpha(line.charCodeAt(0))) return undefined;
  while (k < line.length && (isAlpha(line.charCodeAt(k)) || isDigit(line.charCodeAt(k)))) k++;
  const name = line.slice(0, k);
  while (k < line.length && isGoSpace(line.charCodeAt(k))) k++;
  if (line[k] !== "=") return undefined;
  k++;
  while (k < line.length && isGoSpace(line.charCodeAt(k))) k++;
  let end = line.length;
  while (end > k && isGoSpace(line.charCodeAt(end - 1))) end--;
  // `.+?` needs one character that is not a newline; all blanks: the regex gives it the last blank
  if (end === k) {
    if (k >= line.length || line[line.length - 1] === "\n") return undefined;
    return { name, value: line[line.length - 1] as string };
  }
  const value = line.slice(k, end);
  if (value.includes("\n")) return undefined;
  return { name, value };
}

/**
 * The text's lines as Go's bufio.ScanLines gives them (without "\n", and without one "\r" before
 * it), one at a time: the scan stops at the first line that is not a directive, so a long
 * Dockerfile is not split.
 */
function* goLines(text: string): Generator<string> {
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf("\n", start);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(start, end);
    yield line.endsWith("\r") ? line.slice(0, -1) : line;
    start = end + 1;
  }
}

function scanComments(text: string, firstLine: number, mark: string, key: string, form: "#" | "//"): FoundDirective | undefined {
  const seen = new Set<string>();
  let i = -1;
  for (const raw of goLines(text)) {
    i++;
    if (!raw.startsWith(mark)) return undefined;
    let k = mark.length;
    while (k < raw.length && isUnicodeSpace(raw.charCodeAt(k))) k++;
    const m = matchDirective(raw.slice(k));
    if (!m) return undefined;
    const name = m.name.toLowerCase();
    if (!KNOWN.has(name)) return undefined;
    // a second directive of a name stops BuildKit's scan (the parser then reports it)
    if (seen.has(name)) return undefined;
    seen.add(name);
    if (name === key) {
      const space = m.value.indexOf(" ");
      return { value: space === -1 ? m.value : m.value.slice(0, space), cmdline: m.value, line: firstLine + i + 1, form };
    }
  }
  return undefined;
}

/**
 * The directive `key` of a Dockerfile's text, or undefined. `anyForm` also takes `//` comments and
 * a JSON document (BuildKit does so for `syntax` alone).
 */
export function findDirective(text: string, key: "syntax" | "check", anyForm: boolean): FoundDirective | undefined {
  let body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let offset = 0;
  const firstNl = body.indexOf("\n");
  const first = firstNl === -1 ? body : body.slice(0, firstNl);
  if (first.startsWith("#!")) {
    body = firstNl === -1 ? "" : body.slice(firstNl + 1);
    offset = 1;
  }
  const hash = scanComments(body, offset, "#", key, "#");
  if (hash || !anyForm) return hash;
  const slashes = scanComments(body, offset, "//", key, "//");
  if (slashes) return slashes;
  // a JSON document: only text that can be one is parsed
  let k = 0;
  while (k < body.length && isGoSpace(body.charCodeAt(k))) k++;
  if (body[k] !== "{") return undefined;
  try {
    const doc: unknown = JSON.parse(body);
    if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
      const v = (doc as Record<string, unknown>)[key];
      if (typeof v === "string") return { value: v, cmdline: v, line: Math.max(offset, 1), form: "json" };
    }
  } catch {
    // not JSON: no directive
  }
  return undefined;
}
