/**
 * What a COPY/ADD selected from the context, kept per content digest under
 * <store>/cache/listings/<hex>.gz (one line per entry: `file "PATH" MODE SIZE HASH`, `dir …`,
 * `link "PATH" "TARGET"`), so that `--explain` can name the files that changed between two builds. Written once
 * per digest, atomically; a missing listing only makes an explanation less precise.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import { writeFileAtomic } from "@tsbuild/oci";

// made on first use: zlib loads only for a build that writes or reads a listing
const gzipAsync = (data: string, opts: { level: number }) => promisify(gzip)(data, opts);
const gunzipAsync = (data: Buffer) => promisify(gunzip)(data);

export class ContextListings {
  /** listings this process computed or read already (a build reads the one it just saved) */
  private readonly memo = new Map<string, string[]>();
  private readonly maps = new Map<string, Map<string, string>>();

  /** listings being read from disk (one read however many ask) */
  private readonly reading = new Map<string, Promise<string[] | undefined>>();
  /** listings being written (see flush) */
  private readonly writing = new Set<Promise<void>>();

  constructor(private readonly dir: string) {}

  private path(digest: string): string {
    return join(this.dir, `${digest.replace(/^sha256:/, "")}.gz`);
  }

  /**
   * Keeps the listing of `digest`, written in the background (compressed off the main thread): the
   * build goes on meanwhile and waits for it at its end (flush). This process reads it from memory.
   */
  save(digest: string, lines: string[]): void {
    if (this.memo.has(digest)) return;
    this.memo.set(digest, lines);
    const p = this.path(digest);
    const done = access(p).then(
      () => undefined,
      async () => writeFileAtomic(p, await gzipAsync(lines.join("\n"), { level: 1 })),
    ).catch(() => undefined); // (a listing not kept only makes a later explanation less precise)
    this.writing.add(done);
    void done.then(() => this.writing.delete(done));
  }

  /** Waits for the listings being written. */
  async flush(): Promise<void> {
    await Promise.all([...this.writing]);
  }

  /** Its lines in walk order (source lines included), or undefined when the listing is not kept. */
  async lines(digest: string): Promise<string[] | undefined> {
    const known = this.memo.get(digest);
    if (known) return known;
    let reading = this.reading.get(digest);
    if (!reading) {
      reading = readFile(this.path(digest)).then(gunzipAsync).then((b) => b.toString("utf8").split("\n"), () => undefined);
      this.reading.set(digest, reading);
    }
    const lines = await reading;
    if (lines) this.memo.set(digest, lines);
    return lines;
  }

  /** path → its line, or undefined when the listing is not kept */
  async load(digest: string): Promise<Map<string, string> | undefined> {
    const known = this.maps.get(digest);
    if (known) return known;
    const lines = await this.lines(digest);
    if (!lines) return undefined;
    const out = toMap(lines);
    this.maps.set(digest, out);
    return out;
  }
}

function toMap(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines) if (line && !line.startsWith("source ") && !line.startsWith("follow ")) out.set(entryPath(line), line);
  return out;
}

/** A path in a listing line: JSON-quoted, so spaces, newlines or " -> " in names cannot make two lines alike. */
export function quotePath(p: string): string {
  return JSON.stringify(p);
}

/** The path of a listing line: the quoted string after its kind. */
export function entryPath(line: string): string {
  const start = line.indexOf(" ") + 1;
  let i = start + 1;
  while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1;
  return JSON.parse(line.slice(start, i + 1)) as string;
}
