/**
 * What earlier downloads of a URL left, so the next build can ask the server whether it changed
 * (If-None-Match) instead of downloading it again, as BuildKit's http source keeps the ETag, the
 * content digest and Last-Modified on the ref it saved. One small JSON file per URL and file name
 * under the store's cache/http/, named by a hash of both (the URL, which may hold credentials,
 * is never written), replaced atomically. Only downloads that came with an ETag are remembered.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "@tsbuild/oci";

export interface Validator {
  etag: string;
  /** sha256 of the content that ETag named */
  digest: string;
  lastModified?: string;
}

export class DownloadValidators {
  constructor(private readonly dir: string) {}

  private path(url: string, name: string): string {
    return join(this.dir, `${createHash("sha256").update(`${url}\u0000${name}`).digest("hex")}.json`);
  }

  async get(url: string, name: string): Promise<Validator | undefined> {
    try {
      const v = JSON.parse(await readFile(this.path(url, name), "utf8")) as Partial<Validator>;
      if (typeof v.etag !== "string" || typeof v.digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(v.digest)) return undefined;
      return { etag: v.etag, digest: v.digest, ...(typeof v.lastModified === "string" ? { lastModified: v.lastModified } : {}) };
    } catch {
      return undefined;
    }
  }

  async put(url: string, name: string, v: Validator): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.path(url, name), JSON.stringify(v), 0o600);
  }
}
