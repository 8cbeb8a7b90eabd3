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

function skipWs(s: string, i: number): number {
  while (i < s.length && WS.has(s[i] as string)) i++;
  return i;
}

/** Returns the index just past the JSON value starting at i, or -1 when it is not valid JSON. */
function scanValue(s: string, i: number): number {
  i = skipWs(s, i);
  const c = s[i];
  if (c === undefined) return -1;
  if (c === "[" || c === "{") {
    const close = c === "[" ? "]" : "}";
    i = skipWs(s, i + 1);
    if (s[i] === close) return i + 1;
    for (;;) {
      if (c === "{") {
        if (s[i] !== '"') return -1;
        i = scanString(s, i);
        if (i < 0) return -1;
        i = skipWs(s, i);
        if (s[i] !== ":") return -1;
        i++;
      }
      i = scanValue(s, i);
      if (i < 0) return -1;
      i = skipWs(s, i);
      if (s[i] === ",") {
        i = skipWs(s, i + 1);
        continue;
      }
      if (s[i] === close) return i + 1;
      return -1;
    }
  }
  if (c === '"') return scanString(s, i);
  const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(s.slice(i));
  return lit ? i + lit[0].length : -1;
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
