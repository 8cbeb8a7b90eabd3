import { afterAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ContextIndex } from "../src/context/digest.js";
import { ContextListings } from "../src/context/listing.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-ctxdigest-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

describe("context digest", () => {
  it("hashes small files (read synchronously), large ones (streamed) and empty ones by their content", async () => {
    const ctx = join(work, "ctx");
    mkdirSync(ctx);
    const small = Buffer.from("hello\n".repeat(20_000)); // 120 kB: more than one read buffer
    const large = Buffer.alloc(3 << 20, 7); // above the synchronous limit
    writeFileSync(join(ctx, "small"), small);
    writeFileSync(join(ctx, "large"), large);
    writeFileSync(join(ctx, "empty"), "");
    for (const f of ["small", "large", "empty"]) chmodSync(join(ctx, f), 0o644);
    const listings = new ContextListings(join(work, "listings"));
    const index = new ContextIndex(join(work, "index.json"), listings);
    const digest = await index.digest(ctx, undefined, ["."]);
    await index.save(); // (the index and the listing are written in the background: done before the temp dir goes)
    const lines = await listings.load(digest);
    expect(lines?.get("small")).toBe(`file "small" 644 ${small.length} ${sha(small)}`);
    expect(lines?.get("large")).toBe(`file "large" 644 ${large.length} ${sha(large)}`);
    expect(lines?.get("empty")).toBe(`file "empty" 644 0 ${sha("")}`);
  });

  it("with --exclude and --parents lists exactly what the copy writes: directories on the way only where something below is selected", async () => {
    const ctx = join(work, "sel");
    for (const d of ["d/sub", "d/logs", "other"]) mkdirSync(join(ctx, d), { recursive: true });
    for (const f of ["d/a.txt", "d/b.log", "d/sub/c.txt", "d/logs/x.log", "other/o.txt"]) writeFileSync(join(ctx, f), f);
    for (const d of ["", "d", "d/sub", "d/logs", "other"]) chmodSync(join(ctx, d), 0o755);
    for (const f of ["d/a.txt", "d/b.log", "d/sub/c.txt", "d/logs/x.log", "other/o.txt"]) chmodSync(join(ctx, f), 0o644);
    const listings = new ContextListings(join(work, "listings-sel"));
    const index = new ContextIndex(join(work, "index-sel.json"), listings);
    const entries = async (sources: string[], selection: { parents: boolean; exclude: string[] }) => {
      const lines = (await listings.lines(await index.digest(ctx, undefined, sources, selection))) ?? [];
      return lines.map((l) => l.replace(/ [0-9a-f]{64}$/, ""));
    };
    expect(await entries(["d"], { parents: false, exclude: ["*.log", "logs"] })).toEqual([
      'source "d" exclude "*.log" exclude "logs"', 'dir "d" 755', 'file "d/a.txt" 644 7', 'dir "d/sub" 755', 'file "d/sub/c.txt" 644 11',
    ]);
    expect(await entries(["d/**/*.txt"], { parents: true, exclude: [] })).toEqual([
      'source "d/**/*.txt" parents', 'dir "" 755', 'dir "d" 755', 'file "d/a.txt" 644 7', 'dir "d/sub" 755', 'file "d/sub/c.txt" 644 11',
    ]);
    expect(await entries(["d/missing"], { parents: true, exclude: [] })).toEqual(['source "d/missing" parents', 'dir "" 755', 'missing "d/missing"']);
    await index.save();
  });
});
