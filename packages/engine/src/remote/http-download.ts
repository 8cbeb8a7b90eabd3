/**
 * One http(s) download to a file, as BuildKit's http source makes it with Go's client: redirects
 * followed (at most 10 requests, Go's "stopped after 10 redirects"; Authorization only to the first
 * host), `Accept-Encoding: gzip` sent and a gzip body stored decompressed, a status outside
 * 200–399 an error, the body streamed to disk (never held in memory) while its sha256 is computed
 * and, when a digest is expected, checked before the caller sees the file. The file is 0600 and
 * dated by Last-Modified (Go's http.ParseTime), else at the epoch. Stored ETags go out as
 * If-None-Match; a 304 returns the ETag the server confirmed. Transient failures (5xx, 429 with
 * Retry-After, a dropped connection or body, a timeout) are retried a bounded number of times, as
 * the registry client retries them; a refused connection, an unknown host, a TLS failure or a 4xx
 * is not. The transport (the build's HttpTransport) brings proxies and trusted CAs.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, utimes } from "node:fs/promises";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { STATUS_CODES } from "node:http";
import type { HttpResponse, HttpTransport } from "@tsbuild/registry";
import { parseHttpTime } from "./http-time.js";

export interface DownloadedFile {
  kind: "file";
  /** sha256 of the content as stored (decompressed when the server gzip-encoded it) */
  digest: string;
  /** the Last-Modified header as sent, when it is a time (part of BuildKit's cache key) */
  lastModified?: string;
  mtime: Date;
  /** the response's ETag without its W/ prefix */
  etag?: string;
  /** the Content-Disposition header as sent (an http named context takes its file name from it, as BuildKit) */
  contentDisposition?: string;
}

export type DownloadResult = DownloadedFile | { kind: "not-modified"; etag: string };

export interface DownloadOptions {
  transport: HttpTransport;
  signal?: AbortSignal;
  /** the digest the content must have ("sha256:HEX"): a mismatch is an error and the file is not the caller's */
  expect?: string;
  /** ETags of earlier downloads of this URL, sent as If-None-Match */
  etags?: readonly string[];
  /** retries after the first try (default 4) */
  retries?: number;
  /** first backoff in ms (default 200, doubling) */
  backoffMs?: number;
}

/** A download that failed; `message` says why (no credentials in it), `mismatch` when the content was not the expected one. */
export class DownloadError extends Error {
  override readonly name = "DownloadError";
  constructor(message: string, readonly mismatch?: { expected: string; actual: string }) {
    super(message);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REQUESTS = 10;
/** network errors worth another try (the rest — refused, no such host, TLS — would fail the same way) */
const TRANSIENT = /ECONNRESET|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_SOCKET|UND_ERR_(CONNECT|HEADERS|BODY)_TIMEOUT|UND_ERR_CLOSED|UND_ERR_RES_CONTENT_LENGTH_MISMATCH|ERR_STREAM_PREMATURE_CLOSE|Z_BUF_ERROR/;
const TLS_TRUST = /CERT|SELF_SIGNED|UNABLE_TO_(GET_ISSUER|VERIFY)|ERR_TLS/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `url` without its user info, for messages. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = "";
    u.password = "";
    return u.href;
  } catch {
    return url;
  }
}

function errorCode(e: unknown): string {
  const err = e as { code?: string; cause?: { code?: string }; message?: string };
  return err.code ?? err.cause?.code ?? "";
}

/** Why a request failed, for a person: the code, and what to do about a TLS failure. */
function describe(e: unknown, url: URL): string {
  const code = errorCode(e);
  if (TLS_TRUST.test(code)) {
    return `${code}: ${url.host}'s certificate is not trusted (add its CA to the system's store with update-ca-certificates, or point SSL_CERT_FILE or NODE_EXTRA_CA_CERTS at a PEM bundle holding it)`;
  }
  if (code === "ENOTFOUND") return `ENOTFOUND: the host ${url.hostname} does not resolve`;
  if (code) return code;
  return (e as Error).message;
}

/** Headers for `url`: Go's (gzip asked for), Basic auth from the URL's user info, If-None-Match. */
function headersFor(url: URL, etags: readonly string[] | undefined, withAuth: boolean): Record<string, string> {
  const h: Record<string, string> = { "accept-encoding": "gzip", "user-agent": "tsbuild" };
  if (withAuth && (url.username || url.password)) {
    h.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
  }
  if (etags?.length) h["if-none-match"] = etags.join(", ");
  return h;
}

const headerOf = (h: HttpResponse["headers"], k: string): string | undefined => {
  const v = h[k];
  return Array.isArray(v) ? v[0] : v;
};

/** The response after redirects (at most MAX_REQUESTS requests). */
async function follow(start: URL, opts: DownloadOptions): Promise<{ res: HttpResponse; url: URL }> {
  let url = start;
  for (let n = 1; ; n++) {
    const res = await opts.transport.get(url, { headers: headersFor(url, opts.etags, url.host === start.host), ...(opts.signal ? { signal: opts.signal } : {}) });
    const location = headerOf(res.headers, "location");
    if (!REDIRECTS.has(res.statusCode) || location === undefined) return { res, url };
    await res.body.dump();
    if (n >= MAX_REQUESTS) throw new DownloadError(`download failed (stopped after ${MAX_REQUESTS} redirects, the last to ${displayUrl(new URL(location, url).href)})`);
    url = new URL(location, url);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new DownloadError(`download failed (redirected to ${url.protocol} URL, which is not http or https)`);
  }
}

class Retry extends Error {
  constructor(readonly why: string, readonly waitMs?: number) {
    super(why);
  }
}

async function once(url: URL, file: string, opts: DownloadOptions): Promise<DownloadResult> {
  let got: { res: HttpResponse; url: URL };
  try {
    got = await follow(url, opts);
  } catch (e) {
    if (e instanceof DownloadError || opts.signal?.aborted) throw e;
    const code = errorCode(e);
    if (TRANSIENT.test(code)) throw new Retry(code);
    throw new DownloadError(`download failed (${describe(e, url)})`);
  }
  const { res } = got;
  const status = res.statusCode;
  if (status === 304) {
    await res.body.dump();
    const etag = (headerOf(res.headers, "etag") ?? "").replace(/^W\//, "") || (opts.etags?.length === 1 ? opts.etags[0] as string : "");
    if (!etag || !opts.etags?.includes(etag)) throw new DownloadError(`download failed (the server answered 304 Not Modified for an ETag it was not asked about: ${etag || "none"})`);
    return { kind: "not-modified", etag };
  }
  if (status === 429 || status >= 500) {
    await res.body.dump();
    const ra = Number(headerOf(res.headers, "retry-after"));
    throw new Retry(`the server answered ${status} ${STATUS_CODES[status] ?? ""}`.trim(), Number.isFinite(ra) && ra >= 0 ? Math.min(ra, 60) * 1000 : undefined);
  }
  if (status < 200 || status >= 400) {
    await res.body.dump();
    throw new DownloadError(`download failed: the server answered ${status} ${STATUS_CODES[status] ?? ""}`.trimEnd());
  }
  const hash = createHash("sha256");
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const gzip = (headerOf(res.headers, "content-encoding") ?? "").toLowerCase() === "gzip";
  const stages: (Readable | Transform)[] = [res.body, ...(gzip ? [createGunzip()] : []), tap];
  try {
    await pipeline([...stages, createWriteStream(file, { mode: 0o600 })]);
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    const code = errorCode(e);
    if (TRANSIENT.test(code) || !code) throw new Retry(code || (e as Error).message);
    throw new DownloadError(`download failed while reading the body (${describe(e, url)})`);
  }
  const digest = `sha256:${hash.digest("hex")}`;
  if (opts.expect !== undefined && digest !== opts.expect) {
    throw new DownloadError(`checksum mismatch: expected ${opts.expect}, the download is ${digest}`, { expected: opts.expect, actual: digest });
  }
  await chmod(file, 0o600);
  const lm = headerOf(res.headers, "last-modified");
  const parsed = lm !== undefined ? parseHttpTime(lm) : undefined;
  const mtime = parsed ?? new Date(0);
  await utimes(file, mtime, mtime);
  const etag = headerOf(res.headers, "etag");
  const disposition = headerOf(res.headers, "content-disposition");
  return {
    kind: "file", digest, mtime,
    ...(disposition ? { contentDisposition: disposition } : {}),
    ...(parsed && lm !== undefined ? { lastModified: lm } : {}),
    ...(etag ? { etag: etag.replace(/^W\//, "") } : {}),
  };
}

/** Downloads `url` into `file` (made or truncated), with retries. */
export async function downloadFile(url: string, file: string, opts: DownloadOptions): Promise<DownloadResult> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DownloadError("download failed (not a URL)");
  }
  const retries = opts.retries ?? 4;
  const backoff = opts.backoffMs ?? 200;
  for (let attempt = 0; ; attempt++) {
    try {
      return await once(parsed, file, opts);
    } catch (e) {
      if (!(e instanceof Retry)) throw e;
      if (attempt >= retries) throw new DownloadError(`download failed (${e.why}, after ${attempt + 1} tries)`);
      await sleep(e.waitMs ?? backoff * 2 ** attempt);
    }
  }
}
