/**
 * The name an ADD of a URL gives the downloaded file, as dockerfile2llb names it: the last element
 * of the URL's path as Go's url.Parse gives it (percent-decoded: `my%20file.txt` is "my file.txt",
 * `x%2Fy` is "y"; dot segments left as written: `/a/./` is "."), taken with Go's path.Base
 * (trailing slashes dropped); "__unnamed__" when that is "." or "/" or the URL does not parse.
 * A name of ".." cannot be a file (BuildKit would write it outside its download directory): an
 * error. The WHATWG URL parser fetch uses resolves dot segments and keeps escapes, so it cannot be
 * asked for the name.
 */
import { urlPath } from "./url-path.js";

export const UNNAMED = "__unnamed__";

export type DownloadName = { name: string } | { error: string };

/** Go's url.PathUnescape (encodePath mode), to bytes; undefined for a bad escape. */
function pathUnescape(s: string): Buffer | undefined {
  const raw = Buffer.from(s, "utf8");
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c !== 0x25) {
      out.push(c);
      continue;
    }
    const hex = raw.subarray(i + 1, i + 3).toString("latin1");
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    out.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(out);
}

/** Go's path.Base. */
function goBase(p: string): string {
  if (p === "") return ".";
  const trimmed = p.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

export function downloadName(url: string): DownloadName {
  const raw = urlPath(url);
  const bytes = raw === undefined ? undefined : pathUnescape(raw);
  if (bytes === undefined) return { name: UNNAMED };
  const path = bytes.toString("utf8");
  if (!Buffer.from(path, "utf8").equals(bytes)) return { error: `ADD ${url}: the file name in the URL's path is not UTF-8, which is not supported yet` };
  if (path.includes("\0")) return { error: `ADD ${url}: the file name in the URL's path holds a NUL byte` };
  const base = goBase(path);
  if (base === "." || base === "/") return { name: UNNAMED };
  if (base === "..") return { error: `ADD ${url}: the URL's path ends in "..", which names no file (give a URL whose path ends in the file's name)` };
  return { name: base };
}
