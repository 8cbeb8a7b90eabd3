import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Readable } from "node:stream";
import { DigestingStream, MediaTypes, Store, writeImage, type Descriptor, type ImageManifest } from "@tsbuild/oci";
import { build, type BuildOptions } from "../src/index.js";
import { contextIndexPath } from "../src/context/stat-index.js";
import { ContextStatIndex } from "../src/context/stat-index.js";
import { BASE_ENV_PATH, busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cache-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const DOCKERFILE = [
  "FROM base:1",
  "ARG VERSION=1",
  "ARG UNUSED=x",
  "WORKDIR /app",
  "COPY a.txt .",
  "COPY b.txt .",
  "RUN cat a.txt b.txt > both.txt && echo $VERSION > version.txt",
  "ENV DONE=1",
].join("\n");

beforeAll(async () => {
  const store = await Store.open(root);
  const blob = await store.content.ingest(Readable.from([busyboxTar(makeBusyboxRootfs(join(work, "rootfs")))]).pipe(new DigestingStream()));
  const img = await writeImage(store.content, { architecture: "amd64", os: "linux", created: "2020-01-01T00:00:00Z", config: { Env: [BASE_ENV_PATH], Cmd: ["sh"] } },
    [{ descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest: blob.digest, size: blob.size }, diffId: blob.digest }]);
  await store.images.put("base:1", img.manifest);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "a.txt"), "a\n");
  writeFileSync(join(ctx, "b.txt"), "b\n");
  writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE);
}, 60_000);

const run = (extra: Partial<BuildOptions> = {}) => build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" }, ...extra });
const cachedSteps = (r: Awaited<ReturnType<typeof run>>) => r.steps.filter((s) => /^(RUN|COPY|WORKDIR)/.test(s.instruction)).map((s) => `${s.cached ? "cached" : "ran"} ${s.instruction}`);

describe("the local build cache", () => {
  let first: Awaited<ReturnType<typeof run>>;
  it("a first build runs every step", async () => {
    first = await run();
    expect(cachedSteps(first).every((s) => s.startsWith("ran"))).toBe(true);
  });
  it("an unchanged rebuild hits every step and gives the same image id", async () => {
    const again = await run();
    expect(cachedSteps(again)).toEqual(["cached WORKDIR /app", "cached COPY a.txt .", "cached COPY b.txt .", "cached RUN cat a.txt b.txt > both.txt && echo $VERSION > version.txt"]);
    expect(again.imageId).toBe(first.imageId);
    expect(again.steps.map((s) => s.cacheKey)).toEqual(first.steps.map((s) => s.cacheKey));
  });
  it("a one-file change reruns exactly the steps that depend on it", async () => {
    writeFileSync(join(ctx, "b.txt"), "b changed\n");
    const r = await run();
    expect(cachedSteps(r)).toEqual(["cached WORKDIR /app", "cached COPY a.txt .", "ran COPY b.txt .", "ran RUN cat a.txt b.txt > both.txt && echo $VERSION > version.txt"]);
    writeFileSync(join(ctx, "b.txt"), "b\n");
    expect((await run()).imageId).toBe(first.imageId);
  });
  it("a file no COPY selects, or one .dockerignore excludes, invalidates nothing", async () => {
    writeFileSync(join(ctx, "unrelated.txt"), "not copied\n");
    expect(cachedSteps(await run()).every((s) => s.startsWith("cached"))).toBe(true);
    writeFileSync(join(ctx, ".dockerignore"), "ignored.txt\n");
    writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE.replace("COPY a.txt .", "COPY *.txt ."));
    const first = await run();
    writeFileSync(join(ctx, "ignored.txt"), "excluded from the context\n");
    const again = await run();
    expect(again.imageId).toBe(first.imageId);
    expect(cachedSteps(again).every((s) => s.startsWith("cached"))).toBe(true);
    for (const f of ["unrelated.txt", "ignored.txt", ".dockerignore"]) rmSync(join(ctx, f));
    writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE);
  });
  it("an unchanged file is not read again: its hash comes from the persisted context index", async () => {
    expect(cachedSteps(await run()).every((s) => s.startsWith("cached"))).toBe(true);
    // the index says a.txt (same size, mtime, ctime, inode) has another hash: a build that trusts it,
    // without reading the file, computes another digest and misses; once the index is gone, it hits
    const file = contextIndexPath(root, ctx);
    const index = new ContextStatIndex(file);
    await index.load();
    const st = lstatSync(join(ctx, "a.txt"));
    expect(index.lookup(join(ctx, "a.txt"), st)).toMatch(/^[0-9a-f]{64}$/);
    index.remember(join(ctx, "a.txt"), st, "0".repeat(64));
    await index.save();
    expect(cachedSteps(await run())).toContain("ran COPY a.txt .");
    rmSync(file);
    expect(cachedSteps(await run()).every((s) => s.startsWith("cached"))).toBe(true);
  });
  it("a COPY of a symlink is keyed on what it leads to: editing the target reruns it", async () => {
    mkdirSync(join(ctx, "target"), { recursive: true });
    writeFileSync(join(ctx, "target", "x.txt"), "x\n");
    symlinkSync("target", join(ctx, "lnk"));
    writeFileSync(join(ctx, "Dockerfile.link"), "FROM base:1\nCOPY lnk /l\nRUN cat /l/x.txt > /seen\n");
    const opts = { dockerfile: join(ctx, "Dockerfile.link") };
    await run(opts);
    expect((await run(opts)).steps.every((s) => s.cached)).toBe(true);
    writeFileSync(join(ctx, "target", "x.txt"), "x changed\n");
    expect((await run(opts)).steps.find((s) => s.instruction.startsWith("COPY"))?.cached).toBe(false);
    for (const f of ["lnk", "target", "Dockerfile.link"]) rmSync(join(ctx, f), { recursive: true });
  });
  it("COPY --from an image is keyed on the image, not its name: the name retagged reruns it", async () => {
    const store = await Store.open(root);
    const base = (await store.images.get("base:1"))?.target as Descriptor;
    await store.images.put("other:1", base);
    writeFileSync(join(ctx, "Dockerfile.from"), "FROM base:1\nCOPY --from=other:1 /etc/passwd /copied\n");
    const opts = { dockerfile: join(ctx, "Dockerfile.from") };
    await run(opts);
    expect((await run(opts)).steps.every((s) => s.cached)).toBe(true);
    const m = await writeImage(store.content, { architecture: "amd64", os: "linux", created: "2021-01-01T00:00:00Z", config: {} },
      (JSON.parse((await store.content.readBytes(base.digest)).toString()) as ImageManifest).layers.map((d) => ({ descriptor: d, diffId: d.digest })));
    await store.images.put("other:1", m.manifest);
    expect((await run(opts)).steps.find((s) => s.instruction.startsWith("COPY"))?.cached).toBe(false);
    await store.images.remove("other:1");
    rmSync(join(ctx, "Dockerfile.from"));
  });
  it("a build arg reruns the steps that read it; one no stage declares invalidates nothing", async () => {
    // (an ARG declared in the stage is in every later RUN's environment and history, as in BuildKit)
    const undeclared = await run({ buildArgs: { NOT_DECLARED: "y" } });
    expect(cachedSteps(undeclared).every((s) => s.startsWith("cached"))).toBe(true);
    expect(undeclared.imageId).toBe(first.imageId);
    const changed = await run({ buildArgs: { VERSION: "2" } });
    expect(cachedSteps(changed).at(-1)).toBe("ran RUN cat a.txt b.txt > both.txt && echo $VERSION > version.txt");
    expect(cachedSteps(changed).slice(0, 3).every((s) => s.startsWith("cached"))).toBe(true);
  });
  it("--no-cache and --no-cache-filter skip lookups", async () => {
    expect(cachedSteps(await run({ noCache: true })).every((s) => s.startsWith("ran"))).toBe(true);
    expect(cachedSteps(await run({ noCacheFilter: ["0"] })).every((s) => s.startsWith("ran"))).toBe(true);
  });
  it("the same base image under another manifest (its layer gzipped, as after a save and load) hits every step", async () => {
    const before = await run();
    const store = await Store.open(root);
    const old = (await store.images.get("base:1"))?.target as Descriptor;
    const layer = (JSON.parse((await store.content.readBytes(old.digest)).toString()) as ImageManifest).layers[0] as Descriptor;
    const gz = await store.content.ingest(Readable.from([gzipSync(await store.content.readBytes(layer.digest))]).pipe(new DigestingStream()));
    const img = await writeImage(store.content, { architecture: "amd64", os: "linux", created: "2020-01-01T00:00:00Z", config: { Env: [BASE_ENV_PATH], Cmd: ["sh"] } },
      [{ descriptor: { mediaType: MediaTypes.OCI_LAYER_GZIP, digest: gz.digest, size: gz.size }, diffId: layer.digest }]);
    expect(img.manifest.digest).not.toBe(old?.digest);
    await store.images.put("base:1", img.manifest);
    const r = await run();
    expect(cachedSteps(r).every((s) => s.startsWith("cached"))).toBe(true);
    expect(r.imageId).toBe(before.imageId);
  });
  it("a hit whose snapshot is gone unpacks the cached layer instead of running", async () => {
    const before = await run(); // (--no-cache above wrote new records)
    rmSync(join(root, "snapshots"), { recursive: true, force: true });
    const r = await run();
    expect(cachedSteps(r).every((s) => s.startsWith("cached"))).toBe(true);
    expect(r.imageId).toBe(before.imageId);
  });
});
