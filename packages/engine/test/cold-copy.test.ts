/**
 * A cold COPY of many files (fileops/copy-file.ts, copy.ts): the same layer bytes as before it was
 * made fast (image ids recorded from the earlier copier), owners, modes, times, links and large
 * files as they were; and a copy that fails half-way leaves nothing a later build trusts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-coldcopy-"));
const ctx = join(work, "ctx");
const T = new Date("2021-03-04T05:06:07.123Z"); // before the epoch below: kept as it is
const EPOCH = 1_700_000_000; // after T, before now: what this build creates (the /chowned parent) is clamped
const platform = { os: "linux", architecture: "amd64" };
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A context of 1,500 small files in 15 directories, odd modes, links, an empty and a 3 MiB file, fixed times. */
function makeContext(dir: string): void {
  for (let i = 0; i < 1500; i++) {
    const d = join(dir, "src", `d${i % 15}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}.txt`), `file ${i}\n`.repeat(i % 50));
  }
  const odd = join(dir, "src", "odd");
  mkdirSync(odd);
  writeFileSync(join(odd, "private"), "p");
  chmodSync(join(odd, "private"), 0o600);
  writeFileSync(join(odd, "tool"), "#!/bin/sh\n");
  chmodSync(join(odd, "tool"), 0o4755);
  writeFileSync(join(odd, "empty"), "");
  chmodSync(join(odd, "empty"), 0o640);
  const big = Buffer.alloc(3 << 20);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i * 2654435761 >>> 0, i);
  writeFileSync(join(odd, "big.bin"), big);
  chmodSync(join(odd, "big.bin"), 0o644);
  linkSync(join(odd, "tool"), join(odd, "tool-hardlink"));
  symlinkSync("../d1/f1.txt", join(odd, "link"));
  chmodSync(odd, 0o2750);
  writeFileSync(join(dir, "Dockerfile"), ["FROM scratch", "COPY . /app", "COPY --chown=7:8 --chmod=0640 src/d3 /chowned/"].join("\n"));
  chmodSync(join(dir, "Dockerfile"), 0o644);
  // times last, deepest first (a change inside a directory moves its mtime)
  const walk = (p: string): void => {
    for (const n of readdirSync(p)) {
      const c = join(p, n);
      const st = lstatSync(c);
      if (st.isDirectory()) walk(c);
      if (!st.isSymbolicLink()) utimesSync(c, T, T);
    }
  };
  walk(dir);
  for (const d of readdirSync(join(dir, "src"))) chmodSync(join(dir, "src", d), 0o755);
  chmodSync(odd, 0o2750);
  chmodSync(join(dir, "src"), 0o755);
  chmodSync(dir, 0o755);
  utimesSync(join(dir, "src"), T, T);
  utimesSync(dir, T, T);
}

beforeAll(() => makeContext(ctx));

describe("a cold COPY of many files", () => {
  it("gives the same image as the earlier copier, with owners, modes, times and links kept", async () => {
    const out = join(work, "out");
    const r = await build({ context: ctx, root: join(work, "store"), sourceDateEpoch: EPOCH, platform, outputs: [{ type: "image" }, { type: "local", dest: out }] });
    // recorded with the copier before copy-file.ts (copyFileSync + path-based chown/chmod/utimes)
    expect(r.imageId).toBe(EXPECTED_IMAGE_ID);
    const f = lstatSync(join(out, "app/src/d7/f22.txt"));
    expect([f.uid, f.gid, f.mode & 0o7777, Math.floor(f.mtimeMs / 1000)]).toEqual([0, 0, 0o644, Math.floor(T.getTime() / 1000)]); // tar keeps seconds
    expect(readFileSync(join(out, "app/src/d7/f22.txt"), "utf8")).toBe("file 22\n".repeat(22));
    const tool = lstatSync(join(out, "app/src/odd/tool"));
    expect(tool.mode & 0o7777).toBe(0o4755);
    expect(lstatSync(join(out, "app/src/odd/tool-hardlink")).ino).toBe(tool.ino);
    expect(lstatSync(join(out, "app/src/odd/private")).mode & 0o7777).toBe(0o600);
    expect(lstatSync(join(out, "app/src/odd")).mode & 0o7777).toBe(0o2750);
    expect(readlinkSync(join(out, "app/src/odd/link"))).toBe("../d1/f1.txt");
    expect(readFileSync(join(out, "app/src/odd/big.bin")).equals(readFileSync(join(ctx, "src/odd/big.bin")))).toBe(true);
    expect(lstatSync(join(out, "app/src/odd/empty")).size).toBe(0);
    const c = lstatSync(join(out, "chowned/f3.txt"));
    expect([c.uid, c.gid, c.mode & 0o7777, Math.floor(c.mtimeMs / 1000)]).toEqual([7, 8, 0o640, Math.floor(T.getTime() / 1000)]);
  }, 120_000);

  it("that fails half-way leaves no layer, snapshot or cache record behind, and a later build succeeds", async () => {
    const bad = join(work, "bad");
    makeContext(bad);
    execFileSync("mkfifo", [join(bad, "src", "d9", "zz-fifo")]); // copied after the d9 files: a mid-copy failure
    const root = join(work, "store-bad");
    await expect(build({ context: bad, root, sourceDateEpoch: EPOCH, platform })).rejects.toThrow(/fifo/);
    const overlay = join(root, "snapshots", "overlay");
    const active = join(overlay, "a");
    if (existsSync(active)) expect(readdirSync(active)).toEqual([]);
    if (existsSync(join(overlay, "c"))) expect(readdirSync(join(overlay, "c"))).toEqual([]);
    expect(readdirSync(join(root, "blobs", "ingest"))).toEqual([]);
    const cacheRecords = existsSync(join(root, "cache")) ? readdirSync(join(root, "cache")).filter((n) => n.endsWith(".json")) : [];
    expect(cacheRecords).toEqual([]);
    rmSync(join(bad, "src", "d9", "zz-fifo"));
    utimesSync(join(bad, "src", "d9"), T, T);
    const r = await build({ context: bad, root, sourceDateEpoch: EPOCH, platform });
    expect(r.imageId).toBe(EXPECTED_IMAGE_ID);
    expect(r.steps.filter((s) => s.cached)).toEqual([]);
  }, 120_000);
});

// the layers as recorded with the earlier copier; the history's COPY --chown/--chmod line as BuildKit
// writes it (`COPY --chown=7:8 --chmod=0640 src/d3 /chowned/`, the flags were left out before)
const EXPECTED_IMAGE_ID = "sha256:b01984bc288990410a03181f2e1d472e2509654936ab3c4f783fa93739edeeac";
