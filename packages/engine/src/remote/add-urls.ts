/**
 * ADD's http(s) sources as BuildKit builds them (dockerfile2llb's llb.HTTP, source/http): what the
 * step's cache key holds for them, and their files.
 *
 * - With `--checksum` the key is the checksum and the file's name: nothing is requested before the
 *   lookup, so a hit makes no request at all; on a miss the download is checked against the
 *   checksum as it streams, before anything is copied into the step's snapshot.
 * - Without one, each URL is downloaded before the lookup and the key holds the content's sha256,
 *   the file's name and its Last-Modified (BuildKit's formatCacheKey): unchanged content hits,
 *   changed content misses. An ETag an earlier download left is sent as If-None-Match; a 304 means
 *   the remembered digest, and the file is downloaded (and checked against it) only if the step
 *   misses.
 *
 * Each download lands in a numbered directory of its own (two URLs may name their files alike).
 */
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import type { HttpTransport } from "@tsbuild/registry";
import { downloadName } from "../copy/download-name.js";
import { downloadFile, DownloadError, displayUrl } from "./http-download.js";
import type { DownloadValidators } from "./download-validators.js";

/** What ADD fetches URLs with: the build's transport (made on first use), remembered validators, its abort signal. */
export interface DownloadRole {
  transport(): Promise<HttpTransport>;
  readonly validators: DownloadValidators;
  readonly signal: AbortSignal;
}

export interface UrlSources {
  /** the step input for the URLs (JSON: per URL its name, checksum or digest, Last-Modified) */
  input: string;
  /** the files, relative to the directory given: downloaded now when they were not yet */
  files(): Promise<string[]>;
}

/** A download's failure, with the URL it was for (credentials left out). */
export class UrlSourceError extends Error {
  override readonly name = "UrlSourceError";
}

interface Entry {
  url: string;
  name: string;
  /** where its file goes, relative to the directory */
  file: string;
  digest: string;
  lastModified?: string;
  /** downloaded already */
  have: boolean;
}

async function fetchInto(role: DownloadRole, e: Entry, dir: string, expect: string): Promise<void> {
  try {
    await downloadFile(e.url, join(dir, e.file), { transport: await role.transport(), signal: role.signal, expect });
  } catch (err) {
    if (err instanceof DownloadError) {
      if (err.mismatch) {
        throw new UrlSourceError(`ADD ${displayUrl(e.url)}: checksum mismatch: expected ${err.mismatch.expected}, but the download is ${err.mismatch.actual}; nothing was added (check the --checksum, or the server's file)`);
      }
      throw new UrlSourceError(`ADD ${displayUrl(e.url)}: ${err.message}`);
    }
    throw err;
  }
}

/**
 * The URLs of one ADD, with `checksum` (an already checked "sha256:HEX", for one URL) or without.
 * Without a checksum this downloads them into `dir`.
 */
export async function urlSources(role: DownloadRole, urls: readonly string[], checksum: string | undefined, dir: string): Promise<UrlSources> {
  const entries: Entry[] = await Promise.all(urls.map(async (url, n) => {
    const named = downloadName(url);
    if ("error" in named) throw new UrlSourceError(named.error);
    await mkdir(join(dir, String(n)), { recursive: true });
    const e: Entry = { url, name: named.name, file: `${n}/${named.name}`, digest: checksum ?? "", have: false };
    if (checksum !== undefined) return e;
    const known = await role.validators.get(url, named.name);
    let r;
    try {
      r = await downloadFile(url, join(dir, e.file), { transport: await role.transport(), signal: role.signal, ...(known ? { etags: [known.etag] } : {}) });
    } catch (err) {
      if (err instanceof DownloadError) throw new UrlSourceError(`ADD ${displayUrl(url)}: ${err.message}`);
      throw err;
    }
    if (r.kind === "not-modified" && known) return { ...e, digest: known.digest, ...(known.lastModified !== undefined ? { lastModified: known.lastModified } : {}) };
    if (r.kind !== "file") throw new UrlSourceError(`ADD ${displayUrl(url)}: the server answered 304 Not Modified to a request that asked for no ETag`);
    if (r.etag) await role.validators.put(url, named.name, { etag: r.etag, digest: r.digest, ...(r.lastModified !== undefined ? { lastModified: r.lastModified } : {}) });
    return { ...e, digest: r.digest, have: true, ...(r.lastModified !== undefined ? { lastModified: r.lastModified } : {}) };
  }));
  const input = JSON.stringify(entries.map((e) => ({ name: e.name, checksum: e.digest, ...(e.lastModified !== undefined ? { lastModified: e.lastModified } : {}) })));
  return {
    input,
    async files() {
      // a checksum's file, or one the server said had not changed: downloaded now, checked against its digest
      await Promise.all(entries.filter((e) => !e.have).map(async (e) => {
        await fetchInto(role, e, dir, e.digest);
        e.have = true;
      }));
      return entries.map((e) => e.file);
    },
  };
}
