/**
 * The content digest of exactly the context files a COPY/ADD selects (after .dockerignore): path,
 * type, mode, size, content hash and link target, mtimes excluded (DESIGN.md, cache keys). File
 * hashes are remembered by (size, mtime, ctime, inode, mode) in <store>/cache/context-index/, so an
 * unchanged file is never read again.
 */
import { createHash } from "node:crypto";
import { closeSync, createReadStream, lstatSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { writeFileAtomic } from "@tsbuild/oci";
import type { IgnoreMatcher } from "./context/dockerignore.js";
import { expandSource, followInRoot } from "./fileops/copy.js";
import { quotePath as q } from "./context-listing.js";
import type { ContextListings } from "./context-listing.js";

type IndexEntry = { stat: string; hash: string };

/** Files up to this size are hashed with synchronous reads (see hashSmallFile). */
const SMALL_FILE = 1 << 20;

/**
 * sha256 of a small file with synchronous reads into one reused buffer: a cold build of a
 * 20,000-file context hashes 20,000 files, and a stream per file (open, read, close through
 * libuv's thread pool, plus the stream machinery) cost ~8 s there against ~0.5 s this way.
 */
const chunk = Buffer.allocUnsafe(64 * 1024);
function hashSmallFile(abs: string): string {
  const h = createHash("sha256");
  const fd = openSync(abs, "r");
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      h.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/**
 * Each context directory has its own index (<store>/cache/context-index/<hash of its path>.json):
 * a small build does not load the hashes of a large context built before on the same store.
 */
export function contextIndexPath(storeRoot: string, contextDir: string): string {
  return join(storeRoot, "cache", "context-index", `${createHash("sha256").update(contextDir).digest("hex").slice(0, 32)}.json`);
}

export class ContextIndex {
  private entries = new Map<string, IndexEntry>();
  private dirty = false;
  constructor(private readonly file: string, private readonly listings?: ContextListings) {}

  async load(): Promise<void> {
    try {
      this.entries = new Map(Object.entries(JSON.parse(await readFile(this.file, "utf8")) as Record<string, IndexEntry>));
    } catch {
      this.entries = new Map();
    }
  }

  async save(): Promise<void> {
    if (this.dirty) await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.entries)));
    this.dirty = false;
  }

  /** sha256 of a file, read only when its stat tuple changed */
  async fileHash(abs: string, stat: string, size: bigint | number = Infinity): Promise<string> {
    const e = this.entries.get(abs);
    if (e && e.stat === stat) return e.hash;
    let hash: string;
    if (size <= SMALL_FILE) hash = hashSmallFile(abs);
    else {
      const h = createHash("sha256");
      for await (const c of createReadStream(abs)) h.update(c as Buffer);
      hash = h.digest("hex");
    }
    this.entries.set(abs, { stat, hash });
    this.dirty = true;
    return hash;
  }

  async digest(root: string, ignore: IgnoreMatcher | undefined, sources: string[]): Promise<string> {
    const h = createHash("sha256");
    const lines: string[] = [];
    const line = (l: string) => {
      lines.push(l);
      h.update(`${l}\n`);
    };
    const visit = async (rel: string): Promise<void> => {
      const abs = posix.join(root, rel);
      // synchronous calls: a context of 20,000 files is 20,000 lstats (see walk-directory.ts in oci)
      const st = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
      if (!st) {
        line(`missing ${q(rel)}`);
        return;
      }
      const mode = (st.mode & 0o7777n).toString(8);
      if (st.isDirectory()) {
        line(`dir ${q(rel)} ${mode}`);
        for (const n of readdirSync(abs).sort()) {
          const child = rel ? `${rel}/${n}` : n;
          if (ignore?.excluded(child)) {
            const cst = lstatSync(join(abs, n));
            if (!cst.isDirectory() || !ignore.mayIncludeBelow(child)) continue;
          }
          await visit(child);
        }
      } else if (st.isSymbolicLink()) {
        line(`link ${q(rel)} ${q(readlinkSync(abs))}`);
      } else if (st.isFile()) {
        // ctime too: an edit that keeps size and mtime (cp -p, rsync -t, touch -r) still changes it
        const stat = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.mode}`;
        line(`file ${q(rel)} ${mode} ${st.size} ${await this.fileHash(abs, stat, st.size)}`);
      } else {
        line(`other ${q(rel)} ${mode}`);
      }
    };
    for (const s of sources) {
      line(`source ${q(s)}`);
      for (const m of await expandSource({ root, ...(ignore ? { ignore } : {}), isContext: true }, s)) {
        // a source that is (or lies under) a symlink is copied from where it leads: that is what counts
        const followed = m === "" ? "" : await followInRoot(root, m);
        if (followed !== m) line(`follow ${q(m)} ${q(followed)}`);
        await visit(followed);
      }
    }
    const digest = `sha256:${h.digest("hex")}`;
    await this.listings?.save(digest, lines);
    return digest;
  }
}
