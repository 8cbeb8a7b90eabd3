/**
 * --explain: every miss names the first input that differs from the closest earlier record (a
 * changed file, a build arg, the base image's digest, the instruction), and --pull re-resolves a
 * base in a loopback registry so that a new digest invalidates its dependants.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { DigestingStream, MediaTypes, Store, writeImage, type Descriptor } from "@tsbuild/oci";
import { push } from "@tsbuild/registry";
import { build, type BuildOptions, type BuildResult } from "../src/index.js";
import { BASE_ENV_PATH, busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { startRegistry, type RegistryServer } from "../../registry/test/helpers/registry-server.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-explain-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
let busybox: Buffer;
afterAll(() => rmSync(work, { recursive: true, force: true }));

const DOCKERFILE = [
  "FROM base:1",
  "ARG VERSION=1",
  "WORKDIR /app",
  "COPY src ./src",
  "RUN echo $VERSION > version.txt && cat src/*.ts > all.ts",
  "ENV DONE=1",
].join("\n");

/** An image of busybox plus one file, so that two bases differ only in their digest. */
async function baseImage(store: Store, marker: string): Promise<Descriptor> {
  const layer = await store.content.ingest(Readable.from([busybox]).pipe(new DigestingStream()));
  const img = await writeImage(store.content, { architecture: "amd64", os: "linux", created: "2020-01-01T00:00:00Z", config: { Env: [BASE_ENV_PATH], Cmd: ["sh"], Labels: { marker } } },
    [{ descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest: layer.digest, size: layer.size }, diffId: layer.digest }]);
  return img.manifest;
}

beforeAll(async () => {
  busybox = busyboxTar(makeBusyboxRootfs(join(work, "rootfs")));
  const store = await Store.open(root);
  await store.images.put("base:1", await baseImage(store, "one"));
  mkdirSync(join(ctx, "src"), { recursive: true });
  writeFileSync(join(ctx, "src", "main.ts"), "main\n");
  writeFileSync(join(ctx, "src", "util.ts"), "util\n");
  writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE);
}, 60_000);

const run = (extra: Partial<BuildOptions> = {}) => build({ context: ctx, root, explain: true, platform: { os: "linux", architecture: "amd64" }, ...extra });
const misses = (r: BuildResult) => r.steps.filter((s) => !s.cached).map((s) => s.explain);

describe("--explain", () => {
  it("a first build explains that nothing was built before, and what follows from it", async () => {
    const r = await run();
    expect(misses(r)[0]).toBe("ARG VERSION=1: no earlier build of this step is in the cache");
    expect(misses(r)[1]).toBe("WORKDIR /app: the step before it was rebuilt (Dockerfile:2 ARG VERSION=1)");
    expect(r.steps.every((s) => !s.cached && s.explain)).toBe(true);
  });
  it("an unchanged rebuild hits every step, metadata steps included, and explains nothing", async () => {
    const r = await run();
    expect(r.steps.map((s) => s.cached)).toEqual([true, true, true, true, true]);
    expect(r.steps.some((s) => s.explain)).toBe(false);
  });
  it("names the file that changed", async () => {
    writeFileSync(join(ctx, "src", "main.ts"), "main, changed\n");
    const r = await run();
    expect(misses(r)).toEqual([
      "COPY src ./src: src/main.ts changed",
      "RUN echo $VERSION > version.txt && cat src/*.ts > all.ts: the step before it was rebuilt (Dockerfile:4 COPY src ./src)",
      "ENV DONE=1: the step before it was rebuilt (Dockerfile:5 RUN echo $VERSION > version.txt && cat src/*.ts > all.ts)",
    ]);
    writeFileSync(join(ctx, "src", "new.ts"), "new\n");
    expect(misses(await run())[0]).toBe("COPY src ./src: src/new.ts added");
    rmSync(join(ctx, "src", "new.ts"));
    writeFileSync(join(ctx, "src", "main.ts"), "main\n");
    expect(misses(await run())).toEqual([]);
  });
  it("names the build arg that changed", async () => {
    const RUN = "RUN echo $VERSION > version.txt && cat src/*.ts > all.ts";
    const r = await run({ buildArgs: { VERSION: "2" } });
    // the ARG's value reaches only the RUN (its environment): WORKDIR and COPY still hit
    expect(r.steps.filter((s) => s.cached).map((s) => s.instruction)).toEqual(["ARG VERSION=1", "WORKDIR /app", "COPY src ./src"]);
    expect(misses(r)[0]).toBe(`${RUN}: build-arg VERSION 1 → 2`);
    expect(misses(await run({ buildArgs: { VERSION: "3" } }))[0]).toBe(`${RUN}: build-arg VERSION 2 → 3`);
  });
  it("names a changed instruction", async () => {
    writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE.replace("ENV DONE=1", "ENV DONE=2"));
    expect(misses(await run())).toEqual(["ENV DONE=2: the instruction changed (was «ENV DONE=1»)"]);
    writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE);
  });
  it("says when the base image's digest changed", async () => {
    const store = await Store.open(root);
    await store.images.put("base:1", await baseImage(store, "two"));
    const r = await run();
    expect(misses(r)[0]).toMatch(/^FROM base:1: base image digest changed \(sha256:[0-9a-f]{12}… → sha256:[0-9a-f]{12}…\)$/);
    expect(r.steps.every((s) => !s.cached)).toBe(true);
  });
  it("says when the cache was disabled", async () => {
    expect(misses(await run({ noCache: true }))[0]).toBe("ARG VERSION=1: cache disabled by --no-cache");
  });
});

describe("--pull", () => {
  let registry: RegistryServer;
  beforeAll(async () => {
    registry = await startRegistry();
  }, 30_000);
  afterAll(async () => registry.stop());

  it("re-resolves the base in its registry: a new digest there invalidates the steps after FROM", async () => {
    const src = await Store.open(join(work, "src-store"));
    const ref = `${registry.host}/explain/base:1`;
    await push(src, await baseImage(src, "first"), ref);
    writeFileSync(join(ctx, "Dockerfile.pull"), DOCKERFILE.replace("FROM base:1", `FROM ${ref}`));
    const opts = { dockerfile: join(ctx, "Dockerfile.pull"), root: join(work, "pull-store") };
    const first = await run(opts);
    expect(first.steps.every((s) => !s.cached)).toBe(true);
    await push(src, await baseImage(src, "second"), ref);
    // without --pull the store's copy is used: everything hits
    const stale = await run(opts);
    expect(stale.steps.every((s) => s.cached)).toBe(true);
    expect(stale.imageId).toBe(first.imageId);
    const pulled = await run({ ...opts, pull: true });
    expect(pulled.steps.every((s) => !s.cached)).toBe(true);
    expect(misses(pulled)[0]).toMatch(/^FROM 127\.0\.0\.1:\d+\/explain\/base:1: base image digest changed/);
    // and an unchanged registry costs nothing: --pull again hits every step
    expect((await run({ ...opts, pull: true })).steps.every((s) => s.cached)).toBe(true);
  }, 120_000);
});
