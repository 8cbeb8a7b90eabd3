/**
 * The content digest of exactly the context files a COPY/ADD selects (after .dockerignore): path,
 * type, mode, size, content hash and link target, mtimes excluded (DESIGN.md, cache keys). File
 * hashes are remembered by their stat tuple in the context stat index (context-stat-index.ts), so
 * an unchanged file is never read again: a rebuild costs one lstat per entry and one readdir per
 * directory, synchronous (a context of 20,000 files is 20,000 lstats; promises cost 3× more).
 */
import { createHash } from "node:crypto";
import { constants, createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from "node:fs";
import { join, posix } from "node:path";
import type { IgnoreMatcher } from "./dockerignore.js";
import { expandSource, followInRoot } from "../copy/copier.js";
import { quotePath as q } from "./listing.js";
import type { ContextListings } from "./listing.js";
import { ContextStatIndex } from "./stat-index.js";


/** Files up to this size are read in one call; larger ones stream. */
const READ_WHOLE = 1 << 20;

const NO_THROW = { throwIfNoEntry: false } as const;
const { S_IFMT, S_IFDIR, S_IFLNK, S_IFREG } = constants;

/** The permission bits in octal, as listing lines have them (made once per mode). */
const modeTexts = new Map<number, string>();
function modeText(mode: number): string {
  const bits = mode & 0o7777;
  let t = modeTexts.get(bits);
  if (t === undefined) modeTexts.set(bits, (t = bits.toString(8)));
  return t;
}

/** A file line waiting for its content hash: lines[line] gets it appended. */
interface Unhashed {
  line: number;
  abs: string;
  st: Stats;
}

export class ContextIndex {
  private readonly stats: ContextStatIndex;
  /** the mtime (whole seconds) of every entry the last digest of each path visited, by context path */
  private readonly mtimes = new Map<string, number>();

  constructor(file: string, private readonly listings?: ContextListings) {
    this.stats = new ContextStatIndex(file);
  }

  async load(): Promise<void> {
    await this.stats.load();
  }

  /** Persists what this build learnt (most of it written already, see saveSoon), and waits for the listings it wrote. */
  async save(): Promise<void> {
    await Promise.all([this.stats.save(), this.listings?.flush()]);
  }

  private async hashFile(abs: string, st: Stats): Promise<string> {
    const h = createHash("sha256");
    if (st.size <= READ_WHOLE) h.update(readFileSync(abs));
    else for await (const c of createReadStream(abs)) h.update(c as Buffer);
    const hash = h.digest("hex");
    this.stats.remember(abs, st, hash);
    return hash;
  }

  /**
   * The mtime in whole seconds (as a layer has it) of a context entry when a digest last visited it.
   * Listing lines leave times out (they are not in cache keys), so an incremental COPY asks this to
   * tell an entry whose time alone changed (touched, checked out again) from an unchanged one.
   */
  mtimeOf(rel: string): number | undefined {
    return this.mtimes.get(rel);
  }

  async digest(root: string, ignoreFile: IgnoreMatcher | undefined, sources: string[]): Promise<string> {
    const ignore = ignoreFile?.empty ? undefined : ignoreFile; // (asked for each of 20,000 entries otherwise)
    const lines: string[] = [];
    const unhashed: Unhashed[] = [];
    const visit = (rel: string, abs: string): void => {
      const st = lstatSync(abs, NO_THROW);
      if (!st) {
        lines.push(`missing ${q(rel)}`);
        return;
      }
      this.mtimes.set(rel, Math.floor(st.mtimeMs / 1000));
      const type = st.mode & S_IFMT;
      const mode = modeText(st.mode);
      if (type === S_IFDIR) {
        lines.push(`dir ${q(rel)} ${mode}`);
        for (const n of readdirSync(abs).sort()) {
          const child = rel ? `${rel}/${n}` : n;
          if (ignore?.excluded(child)) {
            const cst = lstatSync(join(abs, n));
            if (!cst.isDirectory() || !ignore.mayIncludeBelow(child)) continue;
          }
          visit(child, `${abs}/${n}`);
        }
      } else if (type === S_IFLNK) {
        lines.push(`link ${q(rel)} ${q(readlinkSync(abs))}`);
      } else if (type === S_IFREG) {
        const known = this.stats.lookup(abs, st);
        if (known === undefined) unhashed.push({ line: lines.length, abs, st });
        lines.push(`file ${q(rel)} ${mode} ${st.size} ${known ?? ""}`);
      } else {
        lines.push(`other ${q(rel)} ${mode}`);
      }
    };
    for (const s of sources) {
      lines.push(`source ${q(s)}`);
      for (const m of await expandSource({ root, ...(ignore ? { ignore } : {}), isContext: true }, s)) {
        // a source that is (or lies under) a symlink is copied from where it leads: that is what counts
        const followed = m === "" ? "" : await followInRoot(root, m);
        if (followed !== m) lines.push(`follow ${q(m)} ${q(followed)}`);
        visit(followed, posix.join(root, followed));
      }
    }
    for (const u of unhashed) lines[u.line] += await this.hashFile(u.abs, u.st);
    const digest = `sha256:${createHash("sha256").update(`${lines.join("\n")}\n`).digest("hex")}`;
    this.listings?.save(digest, lines);
    if (unhashed.length) this.stats.saveSoon();
    return digest;
  }
}
