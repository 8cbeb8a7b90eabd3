/**
 * The context stat index (context-stat-index.ts) and the side-by-side listing diff (listing-diff.ts):
 * a hash is trusted only for the exact stat tuple it was read with; a torn or foreign index file is
 * an empty index; two listings give exactly the paths that changed.
 */
import { afterAll, describe, expect, it } from "vitest";
import { lstatSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContextIndex } from "../src/context/digest.js";
import { ContextStatIndex, racyWindowMs } from "../src/context/stat-index.js";
import { diffListings } from "../src/context/listing-diff.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-context-index-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const HASH = "ab".repeat(32);
/** Lets files just written age past the racy window (a file changed right before a build is not indexed). */
const settle = () => new Promise((r) => setTimeout(r, 30));

describe("ContextStatIndex", () => {
  it("gives a hash back only for the same size, mtime, ctime, inode and mode, after a save and a load", async () => {
    const f = join(work, "a.txt");
    const t = new Date("2024-01-01T00:00:00Z");
    writeFileSync(f, "one\n");
    utimesSync(f, t, t);
    await settle();
    const index = new ContextStatIndex(join(work, "index-1.bin"));
    await index.load();
    index.remember(f, lstatSync(f), HASH);
    await index.save();
    const again = new ContextStatIndex(join(work, "index-1.bin"));
    await again.load();
    expect(again.lookup(f, lstatSync(f))).toBe(HASH);
    // same size, the same mtime put back (as cp -p, rsync -t, touch -r do): the ctime still tells
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(f, "two\n");
    utimesSync(f, t, t);
    expect(lstatSync(f).mtimeMs).toBe(t.getTime());
    expect(again.lookup(f, lstatSync(f))).toBeUndefined();
  });
  it("a later build's hashes go in place, new paths after, the others kept", async () => {
    const [a, b, c] = ["p.txt", "q.txt", "r.txt"].map((n) => join(work, n)) as [string, string, string];
    for (const f of [a, b, c]) writeFileSync(f, `${f}\n`);
    await settle();
    const file = join(work, "index-4.bin");
    const first = new ContextStatIndex(file);
    await first.load();
    first.remember(a, lstatSync(a), HASH);
    first.remember(b, lstatSync(b), HASH);
    await first.save();
    const second = new ContextStatIndex(file);
    await second.load();
    second.remember(c, lstatSync(c), "cd".repeat(32));
    second.remember(a, lstatSync(a), "ef".repeat(32));
    await second.save();
    const third = new ContextStatIndex(file);
    await third.load();
    expect([a, b, c].map((f) => third.lookup(f, lstatSync(f)))).toEqual(["ef".repeat(32), HASH, "cd".repeat(32)]);
  });
  it("a torn or foreign file is an empty index", async () => {
    const f = join(work, "b.txt");
    writeFileSync(f, "b\n");
    await settle();
    const file = join(work, "index-2.bin");
    const index = new ContextStatIndex(file);
    await index.load();
    index.remember(f, lstatSync(f), HASH);
    await index.save();
    const { readFileSync } = await import("node:fs");
    const whole = readFileSync(file);
    for (const bytes of [whole.subarray(0, whole.length - 3), Buffer.from('{"json": "from an older version"}')]) {
      writeFileSync(file, bytes);
      const broken = new ContextStatIndex(file);
      await broken.load();
      expect(broken.lookup(f, lstatSync(f))).toBeUndefined();
    }
  });
  it("a file changed right before the build (same clock tick possible) is hashed but not indexed; once settled it is", async () => {
    const f = join(work, "racy.txt");
    writeFileSync(f, "1\n");
    const file = join(work, "index-racy.bin");
    const first = new ContextStatIndex(file);
    await first.load();
    first.remember(f, lstatSync(f), HASH);
    expect(first.lookup(f, lstatSync(f))).toBe(HASH); // this build uses it
    await first.save();
    const second = new ContextStatIndex(file);
    await second.load();
    expect(second.lookup(f, lstatSync(f))).toBeUndefined(); // the next one reads the file again
    second.remember(f, lstatSync(f), HASH); // changed 20+ ms before this load? not yet: still racy
    await settle();
    const third = new ContextStatIndex(file);
    await third.load();
    third.remember(f, lstatSync(f), HASH);
    await third.save();
    const fourth = new ContextStatIndex(file);
    await fourth.load();
    expect(fourth.lookup(f, lstatSync(f))).toBe(HASH);
  });
  it("whole-second file times (ext3, FAT, network file systems) get a two-second window", () => {
    expect(racyWindowMs(1_700_000_000_000)).toBe(2000);
    expect(racyWindowMs(1_700_000_000_123.456)).toBe(20);
  });
  it("a rebuild that learns nothing does not write the index", async () => {
    const dir = join(work, "ctx");
    const { mkdirSync, statSync } = await import("node:fs");
    mkdirSync(join(dir, "d"), { recursive: true });
    writeFileSync(join(dir, "d", "x"), "x\n");
    await settle();
    const file = join(work, "index-3.bin");
    const first = new ContextIndex(file);
    await first.load();
    const digest = await first.digest(dir, undefined, ["."]);
    await first.save();
    const written = statSync(file).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const second = new ContextIndex(file);
    await second.load();
    expect(await second.digest(dir, undefined, ["."])).toBe(digest);
    await second.save();
    expect(statSync(file).mtimeMs).toBe(written);
  });
});

describe("diffListings", () => {
  const listing = (...entries: string[]) => ['source "."', ...entries];
  it("names exactly the changed, added and removed paths, in walk order with names that sort around a slash", () => {
    const before = listing('dir "" 755', 'dir "a" 755', 'file "a/1" 644 1 x', 'file "a/2" 644 1 x', 'dir "a-b" 755', 'file "a-b/x" 644 1 x', 'file "z" 644 1 x');
    const after = listing('dir "" 755', 'dir "a" 755', 'file "a/1" 644 2 y', 'dir "a/new" 755', 'file "a/new/n" 644 1 x', 'dir "a-b" 755', 'file "a-b/x" 644 1 x', 'file "y" 644 1 x');
    const d = diffListings(before, after, 20);
    expect(d?.changed).toEqual(["a/1", "a/2", "a/new", "a/new/n", "y", "z"]);
    expect(d?.before.get("a/1")).toBe('file "a/1" 644 1 x');
    expect(d?.after.get("a/1")).toBe('file "a/1" 644 2 y');
    expect(d?.after.has("a/2")).toBe(false);
    expect(d?.before.has("a/new")).toBe(false);
    expect(d?.rootAfter).toBe('dir "" 755');
    expect(d?.entries).toBe(8);
  });
  it("gives up beyond the limit, and for listings of several sources or a followed link", () => {
    const many = (v: string) => listing('dir "" 755', ...Array.from({ length: 30 }, (_, i) => `file "f${String(i).padStart(2, "0")}" 644 1 ${v}`));
    expect(diffListings(many("x"), many("y"), 20)).toBeUndefined();
    expect(diffListings(many("x"), many("y"), 40)?.changed).toHaveLength(30);
    expect(diffListings([...listing('dir "" 755'), 'source "b"', 'file "b" 644 1 x'], listing('dir "" 755'), 20)).toBeUndefined();
    expect(diffListings(['source "l"', 'follow "l" "t"', 'dir "t" 755'], ['source "l"', 'follow "l" "t"', 'dir "t" 755'], 20)).toBeUndefined();
  });
});
