/**
 * Go's json.Decoder semantics for an exec-form argument: decode the FIRST JSON value of the text
 * (anything after it is ignored), and tell "not JSON" (fall back to shell form) apart from "JSON,
 * but not an array of strings" (an error, as in BuildKit).
 */

export type JsonArrayResult =
  | { kind: "strings"; values: string[] }
  | { kind: "not-json" }
  | { kind: "not-string-array" };

export function parseJsonArray(text: string): JsonArrayResult {
  const rest = text.replace(/^\s+/u, "");
  if (!rest.startsWith("[")) return { kind: "not-json" };
  const end = scanValue(rest, 0);
  if (end < 0) return { kind: "not-json" };
  let value: unknown;
  try {
    value = JSON.parse(rest.slice(0, end));
  } catch {
    return { kind: "not-json" };
  }
  if (!Array.isArray(value)) return { kind: "not-json" };
  if (!value.every((v) => typeof v === "string")) return { kind: "not-string-array" };
  return { kind: "strings", values: value as string[] };
}

const WS = new Set([" ", "\t", "\n", "\r"]);
/** Go's encoding/json refuses values nested deeper than this (and BuildKit then takes the shell form). */
const MAX_DEPTH = 10000;
const reLiteral = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.has(s[i] as string)) i++;
  return i;
}

/**
 * Returns the index just past the JSON value starting at i, or -1 when it is not valid JSON. With a
 * stack of the open arrays and objects, not recursion: a Dockerfile can nest a million of them.
 */
function scanValue(s: string, i: number): number {
  const closers: string[] = [];
  /** an object's `"key":` at i (blanks skipped before), the index after it or -1 */
  const key = (at: number): number => {
    if (s[at] !== '"') return -1;
    at = scanString(s, at);
    if (at < 0) return -1;
    at = skipWs(s, at);
    return s[at] === ":" ? at + 1 : -1;
  };
  for (;;) {
    // a value starts at i
    i = skipWs(s, i);
    const c = s[i];
    if (c === undefined) return -1;
    let complete = true;
    if (c === "[" || c === "{") {
      if (closers.length >= MAX_DEPTH) return -1;
      const close = c === "[" ? "]" : "}";
      i = skipWs(s, i + 1);
      if (s[i] === close) {
        i++;
      } else {
        closers.push(close);
        if (c === "{") {
          i = key(i);
          if (i < 0) return -1;
        }
        complete = false;
      }
    } else if (c === '"') {
      i = scanString(s, i);
      if (i < 0) return -1;
    } else {
      reLiteral.lastIndex = i;
      const lit = reLiteral.exec(s);
      if (!lit) return -1;
      i += lit[0].length;
    }
    // after a complete value: close what it completes, until a `,` wants the next value
    while (complete) {
      const close = closers[closers.length - 1];
      if (close === undefined) return i;
      i = skipWs(s, i);
      if (s[i] === close) {
        closers.pop();
        i++;
        continue;
      }
      if (s[i] !== ",") return -1;
      i = skipWs(s, i + 1);
      if (close === "}") {
        i = key(i);
        if (i < 0) return -1;
      }
      complete = false;
    }
  }
}

function scanString(s: string, i: number): number {
  i++;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === '"') return i + 1;
    if (c === "\\") {
      const n = s[i + 1];
      if (n === "u") {
        if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) return -1;
        i += 6;
        continue;
      }
      if (n === undefined || !'"\\/bfnrt'.includes(n)) return -1;
      i += 2;
      continue;
    }
    if (c.charCodeAt(0) < 0x20) return -1;
    i++;
  }
  return -1;
}
