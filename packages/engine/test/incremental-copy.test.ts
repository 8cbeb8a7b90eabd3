/**
 * A COPY of a context directory that missed only because some files changed is redone from its
 * previous run (incremental-copy.ts): its layer and what the next RUN sees must be exactly what a
 * full copy gives, for every kind of change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTar, Store, type Digest } from "@tsbuild/oci";
import { build, type BuildEvent, type BuildOptions } from "../src/index.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-incremental-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  await storeBusyboxBase(root, "base:1", work);
  for (let d = 0; d < 5; d++) {
    mkdirSync(join(ctx, "src", `d${d}`, "sub"), { recursive: true });
    for (let f = 0; f < 20; f++) writeFileSync(join(ctx, "src", `d${d}`, f % 2 ? `f${f}.txt` : `sub/f${f}.txt`), `file ${d}/${f}\n`);
  }
  symlinkSync("d0/f1.txt", join(ctx, "src", "link"));
  // changed at .9996 of a second: Node's Stats Dates round that up to the next second
  utimesSync(join(ctx, "src/d0/f1.txt"), 1_700_000_000.9996, 1_700_000_000.9996);
  writeFileSync(join(ctx, "Dockerfile"), [
    "FROM base:1",
    "WORKDIR /app",
    "COPY src /app/src",
    // what the next step sees: every entry's type, mode, owner, size, time and content
    "RUN cd /app/src && find . | sort | while read -r p; do stat -c '%n %F %a %u:%g %s %Y' \"$p\"; [ -f \"$p\" ] && [ ! -L \"$p\" ] && md5sum \"$p\"; done > /seen.txt; true",
  ].join("\n"));
}, 60_000);

interface Built {
  copyLayer: Digest;
  detail?: string;
  seen: string;
}

async function buildIt(extra: Partial<BuildOptions> = {}): Promise<Built> {
  const events: BuildEvent[] = [];
  const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
  await build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" }, onEvent: (e) => events.push(e), outputs: [{ type: "local", dest: out }], ...extra });
  const starts = events.filter((e): e is Extract<BuildEvent, { type: "step-start" }> => e.type === "step-start");
  const copyId = starts.find((e) => e.instruction.startsWith("COPY"))?.id;
  const done = events.find((e): e is Extract<BuildEvent, { type: "step-done" }> => e.type === "step-done" && e.id === copyId);
  const seen = readFileSync(join(out, "seen.txt"), "utf8");
  rmSync(out, { recursive: true, force: true });
  return { copyLayer: done?.layer as Digest, ...(done?.detail ? { detail: done.detail } : {}), seen };
}

/** The layer's entries, comparable: the destination directory's own time is a build time either way. */
async function entries(layer: Digest): Promise<string[]> {
  const store = await Store.open(root);
  const out: string[] = [];
  for await (const t of readTar(store.content.reader(layer))) {
    const h = t.header;
    const hash = createHash("sha256");
    for await (const c of t.body()) hash.update(c);
    const name = h.name.replace(/\/$/, "");
    const time = name === "app" || name === "app/src" ? "-" : String(h.mtime.getTime());
    out.push(`${name} ${h.type} ${h.mode.toString(8)} ${h.uid}:${h.gid} ${h.size} ${time} ${h.linkname} ${h.type === "0" ? hash.digest("hex") : ""}`);
  }
  return out;
}

const withoutDestTime = (seen: string) => seen.split("\n").filter((l) => !l.startsWith(". directory")).join("\n");

async function expectSameAsFullCopy(changes: () => void): Promise<void> {
  changes();
  const fast = await buildIt();
  expect(fast.detail).toMatch(/^incremental: \d+ of \d+ entries changed$/);
  // in another second than the fast build: the same second would give the same layer, and the full
  // build's record would then name the delta snapshot, which the next case's patch cannot start from
  const second = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === second) await new Promise((r) => setTimeout(r, 20));
  const full = await buildIt({ noCache: true });
  expect(full.detail).toBeUndefined();
  expect(await entries(fast.copyLayer)).toEqual(await entries(full.copyLayer));
  expect(withoutDestTime(fast.seen)).toEqual(withoutDestTime(full.seen));
}

describe("incremental COPY", () => {
  it("a first build copies in full", async () => {
    expect((await buildIt()).detail).toBeUndefined();
  });
  it("keeps a file's second as the source has it, also at .9996 of it (a kept file then matches, and the patch goes on)", async () => {
    const full = await buildIt({ noCache: true });
    expect((await entries(full.copyLayer)).find((e) => e.startsWith("app/src/d0/f1.txt "))).toContain(" 1700000000000 ");
    expect(full.seen).toContain("./d0/f1.txt regular file 644 0:0 9 1700000000\n");
  });
  it("a changed file", () => expectSameAsFullCopy(() => writeFileSync(join(ctx, "src/d1/f3.txt"), "changed\n")), 60_000);
  it("added files in new directories, a removed file and a removed directory", () => expectSameAsFullCopy(() => {
    mkdirSync(join(ctx, "src/d9/deep"), { recursive: true });
    writeFileSync(join(ctx, "src/d9/deep/new.txt"), "new\n");
    writeFileSync(join(ctx, "src/d2/added.txt"), "added\n");
    rmSync(join(ctx, "src/d3/f5.txt"));
    rmSync(join(ctx, "src/d4/sub"), { recursive: true });
  }), 60_000);
  it("modes of a file and a directory, a new symlink, a file replaced by a directory", () => expectSameAsFullCopy(() => {
    chmodSync(join(ctx, "src/d0/f7.txt"), 0o600);
    chmodSync(join(ctx, "src/d1/sub"), 0o700);
    symlinkSync("../d1", join(ctx, "src/d2/up"));
    rmSync(join(ctx, "src/d0/f9.txt"));
    mkdirSync(join(ctx, "src/d0/f9.txt"));
    writeFileSync(join(ctx, "src/d0/f9.txt/inside"), "inside\n");
  }), 60_000);
  it("a file whose time alone changed, beside a changed file: copied in full (the listing has no times, a patch would keep the old one)", async () => {
    writeFileSync(join(ctx, "src/d1/f5.txt"), "changed beside a touched file\n");
    utimesSync(join(ctx, "src/d2/f3.txt"), new Date("2023-05-01T00:00:00Z"), new Date("2023-05-01T00:00:00Z"));
    const fast = await buildIt();
    expect(fast.detail).toBeUndefined(); // given up: a full copy
    const full = await buildIt({ noCache: true });
    expect(await entries(fast.copyLayer)).toEqual(await entries(full.copyLayer));
    expect((await entries(fast.copyLayer)).find((e) => e.startsWith("app/src/d2/f3.txt "))).toContain(` ${Date.parse("2023-05-01T00:00:00Z")} `);
    // and the next one-file change is incremental again
    await expectSameAsFullCopy(() => writeFileSync(join(ctx, "src/d1/f6.txt"), "changed again\n"));
  }, 60_000);
  it("--no-cache copies in full, even when an earlier run could be patched", async () => {
    writeFileSync(join(ctx, "src/d2/f1.txt"), "again\n");
    expect((await buildIt({ noCache: true })).detail).toBeUndefined();
  }, 60_000);
  it("an unchanged rebuild after it hits the cache", async () => {
    const a = await build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" } });
    expect(a.steps.every((s) => s.cached)).toBe(true);
  });
  it("with SOURCE_DATE_EPOCH the image of an incremental COPY is the image a full rebuild gives, its layer in the store", async () => {
    const opts = { context: ctx, root, platform: { os: "linux" as const, architecture: "amd64" }, sourceDateEpoch: 1_600_000_000 };
    await build(opts);
    writeFileSync(join(ctx, "src/d3/f7.txt"), "changed under an epoch\n");
    const events: BuildEvent[] = [];
    const fast = await build({ ...opts, onEvent: (e) => events.push(e) });
    const copy = events.find((e): e is Extract<BuildEvent, { type: "step-done" }> => e.type === "step-done" && e.detail?.startsWith("incremental") === true);
    expect(copy?.layer).toBeDefined();
    const store = await Store.open(root);
    expect(await store.content.has(copy?.layer as Digest)).toBe(true); // committed before build() returned
    const full = await build({ ...opts, noCache: true });
    expect(fast.imageId).toBe(full.imageId);
  }, 60_000);
});

describe("incremental COPY with a symbolic --chmod", () => {
  it("changes each copied entry's own mode as a full copy does (X on a file made executable, a new directory)", async () => {
    writeFileSync(join(ctx, "Dockerfile"), readFileSync(join(ctx, "Dockerfile"), "utf8").replace("COPY src /app/src", "COPY --chmod=u=rwX,go=rX src /app/src"));
    expect((await buildIt()).detail).toBeUndefined();
    await expectSameAsFullCopy(() => {
      chmodSync(join(ctx, "src/d2/f3.txt"), 0o700);
      writeFileSync(join(ctx, "src/d2/f5.txt"), "changed under a symbolic chmod\n");
      mkdirSync(join(ctx, "src/d2/new"), { mode: 0o700 });
      writeFileSync(join(ctx, "src/d2/new/n.txt"), "new\n");
    });
    expect((await buildIt()).seen).toContain("./d2/f3.txt regular file 755 0:0");
  }, 120_000);
});
