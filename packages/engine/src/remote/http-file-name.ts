/**
 * The name BuildKit's http source gives a download it was given no name for (an http named
 * context; ADD names its file itself): Content-Disposition's `filename` (as Go's
 * mime.ParseMediaType reads it, RFC 2231 `filename*` included), its base name, unless it ends in
 * `/`; else the URL path's base; else `index` (source/http getFileName).
 */
import { urlPath } from "../copy/url-path.js";

/** The parameters of a media type header value (`attachment; filename="a b.txt"`), lowercased keys; undefined when it does not parse. */
function mediaParams(value: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  const parts = value.split(";");
  if (!/^\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+(\/[!#$%&'*+.^_`|~0-9A-Za-z-]+)?\s*$/.test(parts[0] ?? "")) return undefined;
  let rest = value.slice((parts[0] as string).length);
  while (rest.trim() !== "") {
    const m = /^\s*;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/.exec(rest);
    if (!m) {
      if (/^\s*;\s*$/.test(rest)) break; // a trailing semicolon, as Go allows
      return undefined;
    }
    const key = (m[1] as string).toLowerCase();
    const raw = m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : (m[2] as string);
    if (params.has(key)) return undefined; // a duplicate parameter is an error in Go
    params.set(key, raw);
    rest = rest.slice(m[0].length);
  }
  // RFC 2231: filename*=UTF-8''a%20b.txt
  const ext = params.get("filename*");
  if (ext !== undefined) {
    const m = /^([^']*)'[^']*'(.*)$/.exec(ext);
    if (m && /^(utf-8|us-ascii)$/i.test(m[1] as string)) {
      try {
        params.set("filename", decodeURIComponent(m[2] as string));
      } catch {
        // not decodable: Go leaves filename unset
      }
    }
    params.delete("filename*");
  }
  return params;
}

export function httpFileName(url: string, contentDisposition: string | undefined): string {
  if (contentDisposition) {
    const name = mediaParams(contentDisposition)?.get("filename");
    if (name && !name.endsWith("/")) {
      const base = name.split("/").filter(Boolean).pop();
      if (base) return base;
    }
  }
  const p = urlPath(url);
  if (p !== undefined) {
    const trimmed = p.replace(/\/+$/, "");
    const base = trimmed.slice(trimmed.lastIndexOf("/") + 1);
    if (base !== "" && base !== ".") return decodeURIComponentSafe(base);
  }
  return "index";
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
