/**
 * The persisted part of the context index: path → stat tuple → sha256 of the content, one file per
 * context directory (<store>/cache/context-index/<hash of its path>.bin), so that an unchanged file
 * is never read again and a small build does not load the hashes of a large context.
 *
 * The file is binary so that a 20,000-file context loads in a few milliseconds (JSON took ~100 ms):
 *
 *   "TSBCIX02" | u32 count | u32 bytes of paths | f64 × 5 × count stat tuples | 32 × count hashes |
 *   paths (UTF-8, NUL-separated)
 *
 * A stat tuple is (size, mtimeMs, ctimeMs, ino, mode) as lstat gives them: ctime too, so an edit
 * that keeps size and mtime (cp -p, rsync -t, touch -r) still changes it. It is rewritten (atomically)
 * only when a hash was added or changed; a file that is not this format is an empty index.
 *
 * A file changed in the same tick of the file system's clock as its last change keeps its stat tuple
 * (git's "racily clean" files): a file that changed shortly before this build loaded the index, or
 * while it runs, is hashed for this build but not written to the index, so the next build reads it again.
 */
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "@tsbuild/oci";

const MAGIC = Buffer.from("TSBCIX02");
const HEAD = 16; // magic, count, bytes of paths: the stat tuples start 8-byte aligned
const FIELDS = 5;
const HASH = 32;

export function contextIndexPath(storeRoot: string, contextDir: string): string {
  return join(storeRoot, "cache", "context-index", `${createHash("sha256").update(contextDir).digest("hex").slice(0, 32)}.bin`);
}

/** The stat tuple an entry is remembered by, in the order the file stores it. */
function tupleOf(st: Stats): number[] {
  return [st.size, st.mtimeMs, st.ctimeMs, st.ino, st.mode];
}

/**
 * How long after a change a file's stat tuple is trusted to tell the next change: nanosecond times come
 * from the kernel's coarse clock (a tick is 10 ms at most); whole-second times (ext3, FAT, some network
 * file systems) need two seconds. Times are compared with this machine's clock: on a network file system
 * whose server's clock runs behind by more than the window, a file changed just before a build looks settled.
 */
export function racyWindowMs(ctimeMs: number): number {
  return ctimeMs % 1000 === 0 ? 2000 : 20;
}

function sameStat(tuples: ArrayLike<number>, at: number, st: Stats): boolean {
  return tuples[at] === st.size && tuples[at + 1] === st.mtimeMs && tuples[at + 2] === st.ctimeMs && tuples[at + 3] === st.ino && tuples[at + 4] === st.mode;
}

export class ContextStatIndex {
  /** the loaded file: its entries, path → slot in `tuples` / `hashes`, and its paths as they are in it */
  private count = 0;
  private slots = new Map<string, number>();
  private tuples = new Float64Array(0);
  private hashes = Buffer.alloc(0);
  private paths = Buffer.alloc(0);
  /** hashes learnt by this build (they win over the loaded ones) */
  private learnt = new Map<string, { tuple: number[]; hash: Buffer; racy: boolean }>();
  /** a write under way, and whether something was learnt that no write has taken yet */
  private writing: Promise<void> | undefined;
  private unsaved = false;
  /** when the index was loaded: a file changed since shortly before is remembered for this build only (racy) */
  private loadedAt = Date.now();

  constructor(readonly file: string) {}

  async load(): Promise<void> {
    this.loadedAt = Date.now();
    this.count = 0;
    this.slots = new Map();
    this.learnt = new Map();
    this.paths = Buffer.alloc(0);
    const buf = await readFile(this.file).catch(() => undefined);
    if (!buf || buf.length < HEAD || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return;
    const count = buf.readUInt32LE(8);
    const pathBytes = buf.readUInt32LE(12);
    const tupleBytes = count * FIELDS * 8;
    if (buf.length !== HEAD + tupleBytes + count * HASH + pathBytes) return; // torn or foreign: start afresh
    // copied out: the Buffer from readFile may sit at an offset that is not 8-byte aligned
    const tuples = new Float64Array(buf.buffer.slice(buf.byteOffset + HEAD, buf.byteOffset + HEAD + tupleBytes));
    const paths = buf.subarray(HEAD + tupleBytes + count * HASH);
    const names = paths.toString("utf8").split("\0");
    if (names.length !== count) return;
    for (let i = 0; i < count; i++) this.slots.set(names[i] as string, i);
    this.count = count;
    this.tuples = tuples;
    this.hashes = buf.subarray(HEAD + tupleBytes, HEAD + tupleBytes + count * HASH);
    this.paths = paths;
  }

  /** The hex sha256 remembered for `path` with exactly this stat, or undefined. */
  lookup(path: string, st: Stats): string | undefined {
    const l = this.learnt.get(path);
    if (l) return sameStat(l.tuple, 0, st) ? l.hash.toString("hex") : undefined;
    const i = this.slots.get(path);
    if (i === undefined || !sameStat(this.tuples, i * FIELDS, st)) return undefined;
    return this.hashes.toString("hex", i * HASH, (i + 1) * HASH);
  }

  remember(path: string, st: Stats, hexHash: string): void {
    const racy = st.ctimeMs > this.loadedAt - racyWindowMs(st.ctimeMs);
    this.learnt.set(path, { tuple: tupleOf(st), hash: Buffer.from(hexHash, "hex"), racy });
    if (!racy) this.unsaved = true;
  }

  /**
   * Starts writing what was learnt in the background, while the build goes on; save() waits for it
   * (and writes again what was learnt meanwhile). A failed write only costs a later build some reads.
   */
  saveSoon(): void {
    if (this.writing || !this.unsaved) return;
    this.writing = (async () => {
      while (this.unsaved) {
        this.unsaved = false;
        await this.write();
      }
    })().catch(() => undefined).finally(() => {
      this.writing = undefined;
    });
  }

  /** Writes what this build learnt, if anything not written yet. */
  async save(): Promise<void> {
    this.saveSoon();
    await this.writing;
  }

  /** The loaded file with what was learnt put in (in place; new paths at the end): mostly two copies. */
  private async write(): Promise<void> {
    const added: string[] = [];
    const learnt = [...this.learnt].filter(([, l]) => !l.racy);
    for (const [p] of learnt) if (!this.slots.has(p)) added.push(p);
    const count = this.count + added.length;
    const tuples = new Float64Array(count * FIELDS);
    tuples.set(this.tuples.subarray(0, this.count * FIELDS));
    const hashes = Buffer.alloc(count * HASH);
    this.hashes.copy(hashes, 0, 0, this.count * HASH);
    let next = this.count;
    for (const [p, l] of learnt) {
      const i = this.slots.get(p) ?? next++; // (the added ones in the order of `added`)
      tuples.set(l.tuple, i * FIELDS);
      l.hash.copy(hashes, i * HASH);
    }
    const extra = Buffer.from(added.join("\0"));
    const names = this.count === 0 ? extra : added.length === 0 ? this.paths : Buffer.concat([this.paths, Buffer.from("\0"), extra]);
    const head = Buffer.alloc(HEAD);
    MAGIC.copy(head);
    head.writeUInt32LE(count, 8);
    head.writeUInt32LE(names.length, 12);
    await writeFileAtomic(this.file, Buffer.concat([head, Buffer.from(tuples.buffer), hashes, names]));
    await rm(this.file.replace(/\.bin$/, ".json"), { force: true }); // the index of older versions (JSON), not read any more
  }
}
