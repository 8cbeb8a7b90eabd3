/**
 * COPY --link (link-step.ts): the layer is made on an empty root and keyed without the steps before
 * it, so a build whose base image or an earlier RUN changed reuses it — the same blob, nothing
 * copied — on the new layers (the image is rebased), and what follows sees the files; a changed
 * source file misses. A plain COPY in the same place reruns, as it must.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store, type Digest, type ImageManifest } from "@tsbuild/oci";
import { build, parseCacheFrom, parseCacheTo, type BuildEvent, type BuildOptions } from "../src/index.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";
import { chainName } from "../src/step/snapshot-chain.js";
import { mountsUnder } from "./helpers/store-fixtures.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-link-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
let baseTar: Buffer;
afterAll(() => rmSync(work, { recursive: true, force: true }));

const DOCKERFILE = (copy: string) => [
  "ARG BASE=base:1",
  "FROM $BASE",
  "ARG V=1",
  // /app exists below the copy with another mode: the --link layer's /app (0755, root) replaces it
  "RUN echo $V > /v && mkdir -p /app && chmod 700 /app && date +%s%N > /stamp",
  `${copy} app /app/`,
  "RUN cat /app/f0.txt /app/sub/f1.txt /v > /seen && ls /app | wc -l >> /seen && stat -c '%a %u:%g' /app >> /seen",
].join("\n");

beforeAll(async () => {
  baseTar = busyboxTar(makeBusyboxRootfs(join(work, "rootfs")));
  await storeBaseImage(root, "base:1", baseTar);
  mkdirSync(join(ctx, "app", "sub"), { recursive: true });
  for (let i = 0; i < 40; i++) writeFileSync(join(ctx, "app", i % 2 ? `sub/f${i}.txt` : `f${i}.txt`), `file ${i}\n`);
  // base:2: base:1 and one more layer (a changed base image)
  const b2 = join(work, "b2");
  mkdirSync(b2);
  writeFileSync(join(b2, "Dockerfile"), "FROM base:1\nRUN echo two > /two\n");
  await build({ context: b2, root, tags: ["base:2"], platform: { os: "linux", architecture: "amd64" } });
}, 120_000);

interface Built {
  /** the COPY step: cached or not, its record's key, its layer's diff id */
  copy: { cached: boolean; key: string; layer?: string };
  /** every step after FROM: ran or cached */
  steps: string[];
  /** the image's layer blobs, bottom first */
  layers: Digest[];
  seen: string;
  files: string[];
}

async function run(copy: string, extra: Partial<BuildOptions> = {}, store = root): Promise<Built> {
  writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE(copy));
  const events: BuildEvent[] = [];
  const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
  const r = await build({
    context: ctx, root: store, platform: { os: "linux", architecture: "amd64" }, onEvent: (e) => events.push(e), outputs: [{ type: "local", dest: out }], ...extra,
  });
  const copyStart = events.find((e): e is Extract<BuildEvent, { type: "step-start" }> => e.type === "step-start" && e.instruction.startsWith("COPY"));
  const done = events.find((e): e is Extract<BuildEvent, { type: "step-done" }> => e.type === "step-done" && e.id === copyStart?.id);
  const s = await Store.open(store);
  const chunks: Buffer[] = [];
  for await (const c of s.content.reader(r.manifestDigest)) chunks.push(c as Buffer);
  const manifest = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ImageManifest;
  const seen = readFileSync(join(out, "seen"), "utf8");
  const files = ["two", "app/f0.txt", "app/sub/f39.txt"].filter((f) => { try { return statSync(join(out, f)).isFile(); } catch { return false; } });
  rmSync(out, { recursive: true, force: true });
  return {
    copy: { cached: done?.cached === true, key: done?.cacheKey ?? "", ...(done?.layer ? { layer: done.layer } : {}) },
    steps: r.steps.filter((x) => /^(RUN|COPY)/.test(x.instruction)).map((x) => `${x.cached ? "cached" : "ran"} ${x.instruction.split(" ")[0]}`),
    layers: manifest.layers.map((l) => l.digest),
    seen, files,
  };
}

const LINK = "COPY --link";

describe("COPY --link: a layer that does not depend on the layers below it", () => {
  let first: Built;
  it("a first build copies onto an empty root: the layer's /app replaces the base's (0755, root)", async () => {
    first = await run(LINK);
    expect(first.steps).toEqual(["ran RUN", "ran COPY", "ran RUN"]);
    expect(first.seen).toBe("file 0\nfile 1\n1\n21\n755 0:0\n");
    expect(first.layers).toHaveLength(4);
  });

  it("an earlier RUN changed: the --link step is a hit, the same blob sits on the new layer, what follows sees the files", async () => {
    const r = await run(LINK, { buildArgs: { V: "2" } });
    expect(r.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
    expect(r.copy).toEqual({ ...first.copy, cached: true });
    expect(r.layers[2]).toBe(first.layers[2]);
    expect(r.layers[1]).not.toBe(first.layers[1]);
    expect(r.seen).toBe("file 0\nfile 1\n2\n21\n755 0:0\n");
  });

  it("the base image changed: the image is rebased, the --link layer the same blob", async () => {
    const r = await run(LINK, { buildArgs: { BASE: "base:2" } });
    expect(r.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
    expect(r.copy).toEqual({ ...first.copy, cached: true });
    expect(r.layers).toHaveLength(5);
    expect(r.layers[3]).toBe(first.layers[2]);
    expect(r.files).toEqual(["two", "app/f0.txt", "app/sub/f39.txt"]);
    expect(r.seen).toBe("file 0\nfile 1\n1\n21\n755 0:0\n");
  });

  it("an unchanged rebuild hits every step; the step's cache key leaves the stage out, the stage's key after it does not", async () => {
    const r = await run(LINK);
    expect(r.steps).toEqual(["cached RUN", "cached COPY", "cached RUN"]);
    expect(r.layers).toEqual(first.layers);
  });

  it("a changed source file misses, and only then is the copy made again", async () => {
    writeFileSync(join(ctx, "app", "f0.txt"), "changed\n");
    try {
      const r = await run(LINK, { buildArgs: { V: "3" } });
      expect(r.steps).toEqual(["ran RUN", "ran COPY", "ran RUN"]);
      expect(r.copy.key).not.toBe(first.copy.key);
      expect(r.copy.layer).not.toBe(first.copy.layer);
      expect(r.seen).toBe("changed\nfile 1\n3\n21\n755 0:0\n");
    } finally {
      writeFileSync(join(ctx, "app", "f0.txt"), "file 0\n");
    }
  });

  it("a plain COPY after a changed RUN runs again (and keeps the base's /app mode)", async () => {
    await run("COPY");
    const r = await run("COPY", { buildArgs: { V: "4" } });
    expect(r.steps).toEqual(["ran RUN", "ran COPY", "ran RUN"]);
    expect(r.seen).toBe("file 0\nfile 1\n4\n21\n700 0:0\n");
  });

  it("--cache-from brings the --link layer to another store, on another layer below it", async () => {
    const dir = join(work, "cache-export");
    await run(LINK, { cacheTo: [parseCacheTo(`type=local,dest=${dir},mode=max`)] });
    const other = join(work, "store-other");
    await storeBaseImage(other, "base:1", baseTar);
    const r = await run(LINK, { buildArgs: { V: "5" }, cacheFrom: [parseCacheFrom(`type=local,src=${dir}`)] }, other);
    expect(r.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
    expect(r.layers[2]).toBe(first.layers[2]);
    expect(r.seen).toBe("file 0\nfile 1\n5\n21\n755 0:0\n");
  });
});

/** The committed overlay snapshot `name` of a store: its meta.json, and whether it has a tree of its own. */
function snapshotOf(store: string, name: string): { meta: { name: string; parent?: string; lower?: string; whole?: true }; fs?: number } | undefined {
  const dir = join(store, "snapshots", "overlay", "c", createHash("sha256").update(name).digest("hex").slice(0, 12));
  if (!existsSync(join(dir, "meta.json"))) return undefined;
  const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as { name: string; lower?: string; whole?: true };
  // the inode of its tree: the same one while nothing unpacks or copies it again
  return { meta, ...(existsSync(join(dir, "fs")) ? { fs: statSync(join(dir, "fs")).ino } : {}) };
}

/** The chain names of an image's layers, bottom first. */
const chainsOf = (layers: string[]) => layers.reduce<string[]>((out, d) => [...out, chainName(out.at(-1), d)], []);

describe("COPY --link on the overlay snapshotter: the layer's own snapshot merged, not applied", () => {
  it("a miss keeps the copy as the layer's own snapshot and merges it; a hit after a rebase shares it again (nothing unpacked or copied)", async () => {
    const store = join(work, "store-merge");
    await storeBaseImage(store, "base:1", baseTar);
    const first = await run(LINK, {}, store);
    const diffId = first.layers[2] as string;
    const own = snapshotOf(store, diffId);
    expect(own?.meta).toEqual({ name: diffId, whole: true });
    expect(own?.fs).toBeDefined();
    const stage = chainsOf(first.layers);
    expect(snapshotOf(store, stage[2] as string)).toEqual({ meta: { name: stage[2], parent: stage[1], lower: diffId } });
    for (const V of ["8", "9"]) {
      const r = await run(LINK, { buildArgs: { V } }, store);
      expect(r.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
      expect(r.seen).toBe(`file 0\nfile 1\n${V}\n21\n755 0:0\n`);
      const chain = chainsOf(r.layers);
      expect(snapshotOf(store, chain[2] as string)).toEqual({ meta: { name: chain[2], parent: chain[1], lower: diffId } });
      expect(snapshotOf(store, diffId)).toEqual(own);
    }
  });

  it("a hit from another store's record unpacks the blob once, into the layer's own snapshot, and every later rebase shares it", async () => {
    const dir = join(work, "cache-export-merge");
    await run(LINK, { cacheTo: [parseCacheTo(`type=local,dest=${dir},mode=max`)] });
    const other = join(work, "store-merge-other");
    await storeBaseImage(other, "base:1", baseTar);
    const r = await run(LINK, { buildArgs: { V: "10" }, cacheFrom: [parseCacheFrom(`type=local,src=${dir}`)] }, other);
    expect(r.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
    const diffId = r.layers[2] as string;
    const own = snapshotOf(other, diffId);
    expect(own?.meta).toEqual({ name: diffId, whole: true });
    expect(snapshotOf(other, chainsOf(r.layers)[2] as string)?.meta.lower).toBe(diffId);
    const again = await run(LINK, { buildArgs: { V: "11" }, cacheFrom: [parseCacheFrom(`type=local,src=${dir}`)] }, other);
    expect(again.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
    expect(again.seen).toBe("file 0\nfile 1\n11\n21\n755 0:0\n");
    expect(snapshotOf(other, chainsOf(again.layers)[2] as string)?.meta.lower).toBe(diffId);
    expect(snapshotOf(other, diffId)).toEqual(own);
  });

  it("many --link steps on one stage: each one more lowerdir, past the mount option's limit (flattened); the same layer twice is applied the second time", async () => {
    const store = join(work, "store-many");
    await storeBaseImage(store, "base:1", baseTar);
    const many = join(work, "ctx-many");
    mkdirSync(many, { recursive: true });
    const N = 230; // ~210 layer directories fit in one lowerdir option (overlay.ts); the kernel's own limit is 500
    for (let i = 0; i < N; i++) writeFileSync(join(many, `f${i}`), `${i}\n`);
    writeFileSync(join(many, "Dockerfile"), [
      "FROM base:1",
      ...Array.from({ length: N }, (_, i) => `COPY --link f${i} /many/`),
      // the same layer as the first one (the times clamped: the same bytes), its directory in the chain already
      "COPY --link f0 /many/",
      "RUN ls /many | wc -l > /seen && cat /many/f0 /many/f229 >> /seen && stat -c %Y /many/f7 >> /seen",
    ].join("\n"));
    const events: BuildEvent[] = [];
    const out = join(work, "out-many");
    const r = await build({
      context: many, root: store, platform: { os: "linux", architecture: "amd64" }, sourceDateEpoch: 1_600_000_000,
      outputs: [{ type: "local", dest: out }], onEvent: (e) => events.push(e),
    });
    expect(readFileSync(join(out, "seen"), "utf8")).toBe(`${N}\n0\n229\n1600000000\n`);
    const s = await Store.open(store);
    const chunks: Buffer[] = [];
    for await (const c of s.content.reader(r.manifestDigest)) chunks.push(c as Buffer);
    const layers = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as ImageManifest).layers.map((l) => l.digest);
    expect(layers).toHaveLength(1 + N + 2);
    expect(layers[N + 1]).toBe(layers[1]);
    const chain = chainsOf(layers);
    for (let i = 1; i <= N; i++) expect(snapshotOf(store, chain[i] as string)?.meta.lower).toBe(layers[i]);
    // the duplicate: applied on its parent, a tree of its own
    const dup = snapshotOf(store, chain[N + 1] as string);
    expect(dup?.meta.lower).toBeUndefined();
    expect(dup?.fs).toBeDefined();
    rmSync(out, { recursive: true, force: true });
    expect(mountsUnder(store)).toEqual([]);
  }, 300_000);

  it("SOURCE_DATE_EPOCH: the layer's own snapshot has the layer's times, on a miss and unpacked from another store's record", async () => {
    const store = join(work, "store-epoch");
    await storeBaseImage(store, "base:1", baseTar);
    const dir = join(work, "cache-export-epoch");
    const epoch = { sourceDateEpoch: 1_600_000_000 };
    writeFileSync(join(ctx, "Dockerfile"), "FROM base:1\nARG V\nRUN echo $V > /v\nCOPY --link app /app/\nRUN stat -c '%n %Y' /app /app/f0.txt /app/sub > /seen\n");
    const seen = async (root: string, extra: Partial<BuildOptions>) => {
      const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
      await build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" }, outputs: [{ type: "local", dest: out }], ...epoch, ...extra });
      const text = readFileSync(join(out, "seen"), "utf8");
      rmSync(out, { recursive: true, force: true });
      return text;
    };
    const want = "/app 1600000000\n/app/f0.txt 1600000000\n/app/sub 1600000000\n";
    expect(await seen(store, { buildArgs: { V: "1" }, cacheTo: [parseCacheTo(`type=local,dest=${dir},mode=max`)] })).toBe(want);
    expect(await seen(store, { buildArgs: { V: "2" } })).toBe(want);
    const other = join(work, "store-epoch-other");
    await storeBaseImage(other, "base:1", baseTar);
    expect(await seen(other, { buildArgs: { V: "3" }, cacheFrom: [parseCacheFrom(`type=local,src=${dir}`)] })).toBe(want);
  });
});

describe("COPY --link on the copy snapshotter (no merge capability): the layer applied, as before", () => {
  it("a first build, an earlier RUN changed, the base changed: the same outputs, the same blob rebased", async () => {
    const store = join(work, "store-copy");
    await storeBaseImage(store, "base:1", baseTar);
    const b2 = join(work, "b2");
    await build({ context: b2, root: store, tags: ["base:2"], platform: { os: "linux", architecture: "amd64" }, snapshotter: "copy" });
    const copy = { snapshotter: "copy" } as const;
    const first = await run(LINK, copy, store);
    expect(first.steps).toEqual(["ran RUN", "ran COPY", "ran RUN"]);
    expect(first.seen).toBe("file 0\nfile 1\n1\n21\n755 0:0\n");
    const rerun = await run(LINK, { ...copy, buildArgs: { V: "2" } }, store);
    expect(rerun.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
    expect(rerun.layers[2]).toBe(first.layers[2]);
    expect(rerun.seen).toBe("file 0\nfile 1\n2\n21\n755 0:0\n");
    const rebased = await run(LINK, { ...copy, buildArgs: { BASE: "base:2" } }, store);
    expect(rebased.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
    expect(rebased.layers[3]).toBe(first.layers[2]);
    expect(rebased.files).toEqual(["two", "app/f0.txt", "app/sub/f39.txt"]);
    expect(rebased.seen).toBe("file 0\nfile 1\n1\n21\n755 0:0\n");
    expect(existsSync(join(store, "snapshots", "overlay", "c"))).toBe(false);
  });
});
