/**
 * build({ context: <tar stream> }): the library takes a context as a tar stream (what `tsbuild
 * build -` hands it from standard input), unpacks it into the store's scratch space, builds from
 * it and removes it, whether the build succeeds, fails or is cancelled.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { build } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-tar-context-"));
const root = join(work, "store");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ctx = join(work, "ctx");
mkdirSync(join(ctx, "sub"), { recursive: true });
writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nCOPY . /in/\n");
writeFileSync(join(ctx, "sub", "f.txt"), "from the tar\n");
writeFileSync(join(ctx, "skip.txt"), "ignored\n");
writeFileSync(join(ctx, ".dockerignore"), "skip.txt\n");
const tar = execFileSync("tar", ["--owner=0", "--group=0", "-cf", "-", "-C", ctx, "."]);

/** what the builds left in the store's scratch space (tmp/) */
const scratch = () => readdirSync(join(root, "tmp"));
const platform = { os: "linux", architecture: "amd64" };

describe("a tar stream as the build context", () => {
  it("is unpacked and built from: its Dockerfile and .dockerignore apply; nothing is left in the store's tmp/", async () => {
    const dest = join(work, "out-plain");
    const r = await build({ context: Readable.from([tar]), root, platform, outputs: [{ type: "local", dest }] });
    expect(r.imageId).toMatch(/^sha256:/);
    expect(readFileSync(join(dest, "in", "sub", "f.txt"), "utf8")).toBe("from the tar\n");
    expect(readdirSync(join(dest, "in")).sort()).toEqual([".dockerignore", "Dockerfile", "sub"]);
    expect(scratch()).toEqual([]);
  }, 60_000);
  it("may be compressed, and gives the same image as the directory it came from", async () => {
    const fromTar = await build({ context: Readable.from([gzipSync(tar)]), root, platform, sourceDateEpoch: 0 });
    const fromDir = await build({ context: ctx, root, platform, sourceDateEpoch: 0 });
    expect(fromTar.imageId).toBe(fromDir.imageId);
    expect(scratch()).toEqual([]);
  }, 60_000);
  it("a stream that is no tar fails the build and leaves nothing behind", async () => {
    await expect(build({ context: Readable.from([Buffer.from("not a tar archive at all\n".repeat(40))]), root, platform })).rejects.toThrow();
    expect(scratch()).toEqual([]);
  }, 60_000);
  it("a cancelled build stops reading a stream that never ends, and removes what it unpacked", async () => {
    const endless = new PassThrough();
    endless.write(tar.subarray(0, 1024)); // a first entry, then nothing more ever comes
    const controller = new AbortController();
    const pending = build({ context: endless, root, platform, signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    await expect(pending).rejects.toThrow(/cancelled/);
    expect(scratch()).toEqual([]);
  }, 60_000);
});
