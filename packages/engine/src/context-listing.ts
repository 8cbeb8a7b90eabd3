/**
 * What a COPY/ADD selected from the context, kept per content digest under
 * <store>/cache/listings/<hex>.gz (one line per entry: `file "PATH" MODE SIZE HASH`, `dir …`,
 * `link "PATH" "TARGET"`), so that `--explain` can name the files that changed between two builds. Written once
 * per digest, atomically; a missing listing only makes an explanation less precise.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { writeFileAtomic } from "@tsbuild/oci";

export class ContextListings {
  /** listings this process computed or read already (a build reads the one it just saved) */
  private readonly memo = new Map<string, string[] | Map<string, string>>();

  constructor(private readonly dir: string) {}

  private path(digest: string): string {
    return join(this.dir, `${digest.replace(/^sha256:/, "")}.gz`);
  }

  async save(digest: string, lines: string[]): Promise<void> {
    this.memo.set(digest, lines);
    const p = this.path(digest);
    if (await access(p).then(() => true, () => false)) return;
    await writeFileAtomic(p, gzipSync(lines.join("\n"), { level: 1 })); // fast: written on every changed context
  }

  /** path → its line, or undefined when the listing is not kept */
  async load(digest: string): Promise<Map<string, string> | undefined> {
    const known = this.memo.get(digest);
    if (known instanceof Map) return known;
    if (known) {
      const map = toMap(known);
      this.memo.set(digest, map);
      return map;
    }
    try {
      const out = toMap(gunzipSync(await readFile(this.path(digest))).toString("utf8").split("\n"));
      this.memo.set(digest, out);
      return out;
    } catch {
      return undefined;
    }
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
function entryPath(line: string): string {
  const start = line.indexOf(" ") + 1;
  let i = start + 1;
  while (i < line.length && line[i] !== '"') i += line[i] === "\\" ? 2 : 1;
  return JSON.parse(line.slice(start, i + 1)) as string;
}
