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
});
