import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pidAlive, type Store } from "@tsbuild/oci";
import { build, diskUsage, prune, runImage, type BuildOptions } from "../src/index.js";
import { entries, mountsUnder, putBusyboxBase } from "./helpers/store-fixtures.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-prune-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const HOUR = 3_600_000;

/** A store with base:1 and a context dir per Dockerfile. */
async function fixture(name: string): Promise<{ root: string; store: Store; run: (dockerfile: string, extra?: Partial<BuildOptions>) => ReturnType<typeof build> }> {
  const dir = join(work, name);
  const root = join(dir, "store");
  const store = await putBusyboxBase(root, dir);
  let n = 0;
  const run = (dockerfile: string, extra: Partial<BuildOptions> = {}) => {
    const ctx = join(dir, `ctx${n++}`);
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "Dockerfile"), dockerfile);
    return build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" }, ...extra });
  };
  return { root, store, run };
}

const ran = (r: Awaited<ReturnType<typeof build>>) => r.steps.filter((s) => s.instruction.startsWith("RUN")).map((s) => s.cached);
const recordFiles = (root: string) => entries(join(root, "cache", "records")).filter((n) => n.endsWith(".json"));
/** Sets the last use of the records of these step keys. */
const lastUsed = (root: string, keys: string[], at: number) => {
  for (const k of keys) utimesSync(join(root, "cache", "records", `${k.replace(/^sha256:/, "")}.json`), new Date(at), new Date(at));
};
const row = async (root: string, type: string) => (await diskUsage({ root })).rows.find((r) => r.type === type)!;

const APP = ["FROM base:1", "RUN head -c 300000 /dev/urandom > /a.bin", "RUN head -c 200000 /dev/urandom > /b.bin && echo app > /name.txt"].join("\n");
const OTHER = ["FROM base:1", "RUN head -c 100000 /dev/urandom > /o.bin"].join("\n");

describe("prune: default, --filter until, --all", () => {
  it("du counts the build cache; a plain prune keeps every usable record", async () => {
    const { root, run } = await fixture("basic");
    const app = await run(APP, { tags: ["app:1"] });
    expect(ran(app)).toEqual([false, false]);
    const cache = await row(root, "Build cache");
    expect(cache.count).toBe(2);
    expect(cache.size).toBe(0); // the image names those layers: not build cache only
    expect((await row(root, "Snapshots")).count).toBe(3);
    await run(OTHER); // unnamed: its layer is build cache only
    const other = await row(root, "Build cache");
    expect(other.count).toBe(3);
    expect(other.size).toBeGreaterThan(100_000);
    expect(other.reclaimable).toBe(other.size);

    const r = await prune({ root });
    expect(r.records).toBe(0);
    expect(r.snapshots).toBe(0);
    expect(ran(await run(APP))).toEqual([true, true]);
    expect(ran(await run(OTHER))).toEqual([true]);
  }, 120_000);

  it("--filter until= removes only records unused for longer; --all empties the cache and keeps images", async () => {
    const { root, store, run } = await fixture("until");
    const app = await run(APP, { tags: ["app:1"] });
    const other = await run(OTHER);
    lastUsed(root, app.steps.map((s) => s.cacheKey), Date.now() - 48 * HOUR);
    const r = await prune({ root, untilMs: 24 * HOUR });
    expect(r.records).toBe(app.steps.filter((s) => s.instruction.startsWith("RUN")).length);
    expect(ran(await run(OTHER))).toEqual([true]); // recent: kept
    expect(ran(await run(APP, { tags: ["app:1"] }))).toEqual([false, false]); // old: gone

    const before = await diskUsage({ root });
    expect(before.reclaimable).toBeGreaterThan(0);
    const all = await prune({ root, all: true });
    expect(all.reclaimed).toBeGreaterThan(0);
    expect(recordFiles(root)).toEqual([]);
    expect(entries(join(root, "leases"))).toEqual([]);
    const after = await diskUsage({ root });
    expect(after.total).toBeLessThan(before.total);
    expect(after.rows.find((x) => x.type === "Build cache")!.count).toBe(0);
    expect(after.reclaimable).toBe(0);
    // the image stays whole: store check passes and it runs, on snapshots unpacked again
    const check = await store.check();
    expect(check.corrupt).toEqual([]);
    expect(check.missing).toEqual([]);
    let out = "";
    const img = (await store.images.get("app:1"))!;
    expect(await runImage({ store, target: img.target, cmd: ["sh", "-c", "wc -c < /a.bin; cat /name.txt"], network: "none", onOutput: (_s, c) => (out += c) })).toBe(0);
    expect(out.split(/\s+/).filter(Boolean)).toEqual(["300000", "app"]);
    // and the next build misses everything
    expect(ran(await run(OTHER))).toEqual([false]);
    expect(other.imageId).toBeDefined();
  }, 120_000);
});

describe("prune and the small cache files", () => {
  it("a COPY's context listing stays while a record names it; --all removes listings and the context index", async () => {
    const { root, run } = await fixture("listings");
    await run("FROM base:1\nCOPY Dockerfile /df\n");
    expect(entries(join(root, "cache", "listings"))).toHaveLength(1);
    await prune({ root });
    expect(entries(join(root, "cache", "listings"))).toHaveLength(1);
    await prune({ root, all: true });
    expect(entries(join(root, "cache", "listings"))).toEqual([]);
    expect(entries(join(root, "cache", "context-index"))).toEqual([]);
  }, 60_000);
});

describe("prune and incremental COPY", () => {
  it("keeps a delta snapshot (and the snapshot under it) while its record is kept", async () => {
    const { root } = await fixture("incremental");
    const ctx = join(work, "incremental", "ctx");
    for (let i = 0; i < 40; i++) {
      mkdirSync(join(ctx, "src"), { recursive: true });
      writeFileSync(join(ctx, "src", `f${i}.txt`), `file ${i}\n`);
    }
    writeFileSync(join(ctx, "Dockerfile"), "FROM base:1\nCOPY src /src\n");
    const opts = { context: ctx, root, platform: { os: "linux", architecture: "amd64" } } as const;
    await build(opts);
    writeFileSync(join(ctx, "src", "f1.txt"), "changed\n");
    const details: string[] = [];
    await build({ ...opts, onEvent: (e) => e.type === "step-done" && e.detail && details.push(e.detail) });
    expect(details.join()).toMatch(/incremental/);
    const before = (await row(root, "Snapshots")).count;
    expect(before).toBe(3); // base, the full copy, the delta on it
    const r = await prune({ root });
    expect(r.snapshots).toBe(0);
    expect((await row(root, "Snapshots")).count).toBe(3);
    await prune({ root, all: true });
    expect((await row(root, "Snapshots")).count).toBe(1); // base:1's
  }, 60_000);
});

describe("prune and merged --link layers", () => {
  /** The committed overlay snapshots' meta.json files: name → whether it shares a lower, has its own tree */
  const snapshots = (root: string) => {
    const out = new Map<string, { lower?: string; own: boolean }>();
    const c = join(root, "snapshots", "overlay", "c");
    for (const id of entries(c)) {
      const meta = JSON.parse(readFileSync(join(c, id, "meta.json"), "utf8")) as { name: string; lower?: string };
      out.set(meta.name, { ...(meta.lower ? { lower: meta.lower } : {}), own: existsSync(join(c, id, "fs")) });
    }
    return out;
  };
  const LINKED = ["FROM base:1", "RUN echo a > /a", "COPY --link src /src"].join("\n");
  const withSrc = (dir: string) => {
    mkdirSync(join(dir, "src"), { recursive: true });
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, "src", `f${i}.txt`), `file ${i}\n`);
  };

  it("keeps the layer a kept snapshot shares (an image's, a record's), removes it with the last one", async () => {
    const { root, store } = await fixture("link-prune");
    const ctx = join(work, "link-prune", "ctx");
    withSrc(ctx);
    writeFileSync(join(ctx, "Dockerfile"), LINKED);
    await build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" }, tags: ["linked:1"] });
    const merged = [...snapshots(root).values()].filter((s) => s.lower);
    expect(merged).toHaveLength(1);
    const own = merged[0]!.lower!;
    expect(snapshots(root).get(own)).toEqual({ own: true });
    // the record goes; the image keeps its chain, and the chain the layer it shares
    await prune({ root, all: true });
    expect(recordFiles(root)).toEqual([]);
    expect(snapshots(root).get(own)).toEqual({ own: true });
    let out = "";
    const img = (await store.images.get("linked:1"))!;
    expect(await runImage({ store, target: img.target, cmd: ["sh", "-c", "cat /a /src/f9.txt"], network: "none", onOutput: (_s, c) => (out += c) })).toBe(0);
    expect(out).toBe("a\nfile 9\n");
    // no image, no record: the merged snapshot and the layer go together
    await store.images.remove("linked:1");
    await prune({ root, all: true });
    expect(snapshots(root).has(own)).toBe(false);
    expect([...snapshots(root).values()].filter((s) => s.lower)).toEqual([]);
    expect(mountsUnder(root)).toEqual([]);
  }, 120_000);

  it("prune --all while a RUN runs on a merged layer keeps the layer it reads", async () => {
    const { root, store } = await fixture("link-running");
    const ctx = join(work, "link-running", "ctx");
    withSrc(ctx);
    writeFileSync(join(ctx, "Dockerfile"), LINKED);
    const opts = { context: ctx, root, platform: { os: "linux", architecture: "amd64" } } as const;
    await build(opts);
    // the same steps hit (the merged snapshot is there: only it is held, not the layer it shares), and
    // the RUN after them reads the layer after the prune
    writeFileSync(join(ctx, "Dockerfile"), `${LINKED}\nRUN sleep 2 && cat /src/f0.txt /src/f9.txt > /seen`);
    let inSleep!: () => void;
    const sleeping = new Promise<void>((r) => (inSleep = r));
    const building = build({ ...opts, tags: ["linked:2"], onEvent: (e) => e.type === "step-start" && e.instruction.includes("sleep") && inSleep() });
    await sleeping;
    await new Promise((r) => setTimeout(r, 300));
    await prune({ root, all: true });
    const result = await building;
    expect(result.steps.map((x) => x.cached)).toEqual([true, true, false]);
    let out = "";
    const img = (await store.images.get("linked:2"))!;
    expect(await runImage({ store, target: img.target, cmd: ["cat", "/seen"], network: "none", onOutput: (_s, c) => (out += c) })).toBe(0);
    expect(out).toBe("file 0\nfile 9\n");
    expect(mountsUnder(root)).toEqual([]);
    expect(entries(join(root, "locks", "sessions"))).toEqual([]);
  }, 120_000);
});

describe("prune and compressed copies of layers", () => {
  it("keeps a layer's compressed copy (made for an OCI output or push) with its layer, except with --all", async () => {
    const { root, run } = await fixture("compressed");
    await run(OTHER, { tags: ["c:1"], outputs: [{ type: "image" }, { type: "oci", dest: join(work, "compressed", "out.tar"), tar: true }] });
    const memos = () => entries(join(root, "cache", "compressed", "gzip"));
    expect(memos().length).toBe(2); // base layer and the RUN's
    const blobs = entries(join(root, "blobs", "sha256")).length;
    await prune({ root });
    expect(memos().length).toBe(2);
    expect(entries(join(root, "blobs", "sha256")).length).toBe(blobs - 1); // only the OCI output's manifest went
    await prune({ root, all: true });
    expect(memos()).toEqual([]);
    expect((await row(root, "Blobs")).reclaimable).toBe(0);
  }, 60_000);
});

describe("prune --keep-storage", () => {
  it("removes the least recently used records first until the cache fits", async () => {
    const { root, run } = await fixture("keep");
    const df = (n: number) => ["FROM base:1", `RUN head -c 300000 /dev/urandom > /${n}.bin`].join("\n");
    const builds = [];
    for (const n of [1, 2, 3]) builds.push(await run(df(n)));
    builds.forEach((b, i) => lastUsed(root, b.steps.map((s) => s.cacheKey), Date.now() - (3 - i) * HOUR));
    const cache = await row(root, "Build cache");
    expect(cache.count).toBe(3);
    const r = await prune({ root, keepStorage: 1_000_000 });
    expect(r.records).toBe(2);
    expect(r.snapshots).toBe(2);
    expect(r.reclaimed).toBeGreaterThan(1_000_000);
    expect(ran(await run(df(3)))).toEqual([true]);
    expect(ran(await run(df(1)))).toEqual([false]);
    expect(ran(await run(df(2)))).toEqual([false]);
  }, 120_000);
});

describe("prune and dead builds' leftovers", () => {
  it("removes scratch dirs and ingest files of dead pids, keeps a live process's", async () => {
    const { root } = await fixture("leftovers");
    let dead = 4_000_000;
    while (pidAlive(dead)) dead++;
    mkdirSync(join(root, "tmp", `build-${dead}-abc123`, "run"), { recursive: true });
    writeFileSync(join(root, "tmp", `build-${dead}-abc123`, "run", "f"), "x".repeat(10_000));
    writeFileSync(join(root, "blobs", "ingest", `layer-${dead}-0123456789abcdef`), "half a blob");
    mkdirSync(join(root, "tmp", `build-${process.pid}-live12`));
    writeFileSync(join(root, "blobs", "ingest", `layer-${process.pid}-0123456789abcdef`), "being written");
    const r = await prune({ root });
    expect(r.leftovers).toBe(2);
    expect(readdirSync(join(root, "tmp"))).toEqual([`build-${process.pid}-live12`]);
    expect(readdirSync(join(root, "blobs", "ingest"))).toEqual([`layer-${process.pid}-0123456789abcdef`]);
  });
});

describe("prune while a build runs", () => {
  it("prune --all during a RUN never breaks the build: its image is complete", async () => {
    const { root, store, run } = await fixture("running");
    await run(APP); // cached steps the running build will reuse
    let inSleep!: () => void;
    const sleeping = new Promise<void>((r) => (inSleep = r));
    const building = run(`${APP}\nRUN sleep 3 && echo done > /done.txt`, {
      tags: ["slow:1"],
      onEvent: (e) => e.type === "step-start" && e.instruction.includes("sleep") && inSleep(),
    });
    await sleeping;
    await new Promise((r) => setTimeout(r, 300));
    const pruned = await prune({ root, all: true });
    expect(pruned.notes.join()).toMatch(/build\(s\) running/);
    const result = await building;
    expect(ran(result)).toEqual([true, true, false]);
    const check = await store.check();
    expect(check.missing).toEqual([]);
    expect(check.corrupt).toEqual([]);
    await prune({ root, all: true });
    let out = "";
    const img = (await store.images.get("slow:1"))!;
    expect(await runImage({ store, target: img.target, cmd: ["sh", "-c", "wc -c < /a.bin; cat /name.txt /done.txt"], network: "none", onOutput: (_s, c) => (out += c) })).toBe(0);
    expect(out.split(/\s+/).filter(Boolean)).toEqual(["300000", "app", "done"]);
    expect(mountsUnder(root)).toEqual([]);
    expect(entries(join(root, "tmp"))).toEqual([]);
    expect(existsSync(join(root, "locks", "gc.lock"))).toBe(false);
    expect(entries(join(root, "locks", "sessions"))).toEqual([]);
  }, 120_000);
});
