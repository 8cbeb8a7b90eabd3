/**
 * Character classes of JavaScript's regular expressions (`\s`, `.`), tested on char codes: the
 * parser runs them on every character of a Dockerfile, where a regex per character costs more.
 */

/** `\s`, for one UTF-16 unit. */
export function isJsSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f ||
    c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** `/^\s$/u` for one character (a code point: no astral character is a blank). */
export function isSpaceChar(ch: string): boolean {
  return ch.length === 1 && isJsSpace(ch.charCodeAt(0));
}

/** What `.` does not match. */
export function isLineTerminator(c: number): boolean {
  return c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
}
