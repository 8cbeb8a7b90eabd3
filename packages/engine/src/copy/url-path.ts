/**
 * The path of a URL `scheme://authority/path?query#fragment` as Go's url.Parse splits it: what
 * follows the authority, up to the query or the fragment, still escaped ("" when there is none).
 * Undefined when `url` has no `scheme://`. Both ADD's file name (download-name.ts) and BuildKit's
 * git-ref test (git-source.ts) read the path this way.
 */
export function urlPath(url: string): string | undefined {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/.exec(url)?.[1];
}
