/**
 * Frontend-level features end to end: `# syntax=` and BUILDKIT_SYNTAX (tsbuild's own frontend,
 * refusals at line 1), the build args BuildKit reads itself (BUILDKIT_INLINE_CACHE,
 * BUILDKIT_MULTI_PLATFORM), an explicit --platform as the image's platform, and annotations in
 * the OCI output (manifest, descriptor, index), exact JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { DockerfileError } from "@tsbuild/dockerfile";
import { Store, type Descriptor, type ImageConfig } from "@tsbuild/oci";
import { build, OutputError, parseAnnotationFlag, parseOutput, type BuildEvent, type BuildOptions } from "../src/index.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-frontend-"));
const root = join(work, "store");
afterAll(() => rmSync(work, { recursive: true, force: true }));
const amd64 = { os: "linux", architecture: "amd64" };

let n = 0;
/** A context directory holding `dockerfile` and app.txt. */
function context(dockerfile: string): string {
  const dir = join(work, `ctx-${++n}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  writeFileSync(join(dir, "app.txt"), "hello\n");
  return dir;
}
const run = (ctx: string, extra: Partial<BuildOptions> = {}) => {
  const events: BuildEvent[] = [];
  const done = build({ context: ctx, root, platform: amd64, network: "host", onEvent: (e) => events.push(e), ...extra });
  return { done, events };
};
const warnings = (events: BuildEvent[]) => events.flatMap((e) => (e.type === "warning" ? [e.message] : []));
async function blob(digest: string): Promise<Buffer> {
  return (await Store.open(root)).content.readBytes(digest as `sha256:${string}`);
}
const json = (dir: string, name: string): unknown => JSON.parse(readFileSync(join(dir, name), "utf8"));
const blobText = (dir: string, d: Descriptor): string => readFileSync(join(dir, "blobs", "sha256", d.digest.slice("sha256:".length)), "utf8");

const REAL_WORLD = [
  "# syntax=docker/dockerfile:1",
  "# check=skip=JSONArgsRecommended",
  "ARG BASE=base:1",
  "FROM ${BASE} AS build",
  "WORKDIR /src",
  "COPY app.txt .",
  "RUN --mount=type=cache,target=/cache wc -c app.txt > size && cp app.txt /cache/seen",
  "",
  "FROM base:1",
  "ENV APP_HOME=/app",
  "COPY --from=build /src/size /src/app.txt $APP_HOME/",
  'CMD ["cat", "/app/app.txt"]',
  "",
].join("\n");

beforeAll(async () => {
  await storeBusyboxBase(root, "base:1", work);
}, 60_000);

describe("# syntax=docker/dockerfile:1 builds with tsbuild's frontend", () => {
  it("a real-world Dockerfile starting with the directive: the same image as without it", async () => {
    const out = join(work, "rw-out");
    const a = run(context(REAL_WORLD), { outputs: [{ type: "image" }, { type: "local", dest: out }], sourceDateEpoch: 1_700_000_000 });
    const with1 = await a.done;
    expect(readFileSync(join(out, "app", "size"), "utf8")).toBe("6 app.txt\n");
    expect(warnings(a.events).filter((w) => !w.startsWith("pulled") && !w.endsWith("up to date"))).toEqual([]);
    const without = await run(context(REAL_WORLD.split("\n").slice(2).join("\n")), { sourceDateEpoch: 1_700_000_000 }).done;
    expect(with1.imageId).toBe(without.imageId);
  }, 60_000);
  it("a newer version is warned about once and built", async () => {
    const r = run(context("# syntax=docker/dockerfile:1.12-labs\nFROM base:1\nRUN echo hi > /hi\n"));
    await r.done;
    expect(warnings(r.events).filter((w) => w.includes("asks for Dockerfile syntax"))).toEqual([
      "Dockerfile:1: docker/dockerfile:1.12-labs asks for Dockerfile syntax 1.12; tsbuild implements docker/dockerfile:1.7 and builds it with that (a later version's instructions and flags fail at their line)",
    ]);
  }, 60_000);
  it("another frontend image fails at line 1 before any step runs; BUILDKIT_SYNTAX=dockerfile.v0 overrides it", async () => {
    const ctx = context("# syntax=tonistiigi/dockerfile:runmount20181002\nFROM base:1\nRUN echo hi > /hi\n");
    const r = run(ctx);
    const e = await r.done.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DockerfileError);
    expect((e as DockerfileError).position).toEqual({ line: 1, column: 1 });
    expect(r.events.filter((x) => x.type === "step-start")).toEqual([]);
    await expect(run(ctx, { buildArgs: { BUILDKIT_SYNTAX: "dockerfile.v0" } }).done).resolves.toMatchObject({ warnings: [] });
  }, 60_000);
});

describe("build args BuildKit reads itself", () => {
  it("BUILDKIT_INLINE_CACHE=1 is --cache-to type=inline", async () => {
    const ctx = context("FROM base:1\nRUN echo inline > /inline\n");
    const byArg = await run(ctx, { buildArgs: { BUILDKIT_INLINE_CACHE: "1" } }).done;
    const byFlag = await run(ctx, { cacheTo: [{ type: "inline" }] }).done;
    const plain = await run(ctx).done;
    expect(byArg.imageId).toBe(byFlag.imageId);
    expect(byArg.imageId).not.toBe(plain.imageId);
    expect(byArg.warnings).toEqual([]);
    const config = JSON.parse((await blob(byArg.imageId)).toString()) as Record<string, unknown>;
    expect(config["tsbuild.cache.v1"]).toBeDefined();
  }, 60_000);
  it("a local context keeps its .git whatever BUILDKIT_CONTEXT_KEEP_GIT_DIR says (BuildKit: it is for Git contexts)", async () => {
    const ctx = context("FROM base:1\nCOPY . /src\n");
    mkdirSync(join(ctx, ".git"));
    writeFileSync(join(ctx, ".git", "HEAD"), "ref: refs/heads/main\n");
    for (const v of ["0", "1"]) {
      const out = join(work, `git-${v}`);
      const r = await run(ctx, { buildArgs: { BUILDKIT_CONTEXT_KEEP_GIT_DIR: v }, outputs: [{ type: "local", dest: out }] }).done;
      expect(readFileSync(join(out, "src", ".git", "HEAD"), "utf8")).toBe("ref: refs/heads/main\n");
      expect(r.warnings).toEqual([]);
    }
  }, 60_000);
  it("an explicit --platform is the image's platform, normalized (BuildKit), an implicit one the base's; a base only of another platform is refused", async () => {
    await storeBaseImage(root, "arm64-base:1", busyboxTar(makeBusyboxRootfs(join(work, "arm64-rootfs"))), undefined, "arm64");
    const arm = await run(context("FROM arm64-base:1\nENV P=1\n"), { platform: { os: "linux", architecture: "arm64", variant: "v8" } }).done;
    const cfg = JSON.parse((await blob(arm.imageId)).toString()) as ImageConfig;
    expect([cfg.os, cfg.architecture, cfg.variant]).toEqual(["linux", "arm64", undefined]);
    const ctx = context("FROM base:1\nRUN echo p > /p\n");
    const implicit = await build({ context: ctx, root, network: "host" });
    expect((JSON.parse((await blob(implicit.imageId)).toString()) as ImageConfig).architecture).toBe("amd64");
    // the store's base:1 is amd64 only (as docker: the image is found, but not for that platform)
    await expect(run(ctx, { platform: { os: "linux", architecture: "arm64" } }).done).rejects.toThrow(/base:1 in the store is linux\/amd64, not linux\/arm64/);
  }, 60_000);

  describe("BUILDKIT_MULTI_PLATFORM=1: an index of the one manifest", () => {
    const MP = { BUILDKIT_MULTI_PLATFORM: "1" };
    let ctx: string;
    beforeAll(() => {
      ctx = context("FROM base:1\nRUN echo multi > /multi\n");
    });
    it("type=oci: index.json names the index, which holds the manifest with its platform", async () => {
      const dest = join(work, "mp-oci");
      const single = await run(ctx).done;
      await run(ctx, { buildArgs: MP, tags: ["mp:1"], outputs: [{ type: "oci", dest, tar: false }], compression: "none" }).done;
      const layout = json(dest, "index.json") as { manifests: Descriptor[] };
      expect(layout.manifests).toHaveLength(1);
      const top = layout.manifests[0] as Descriptor;
      expect(top).toEqual({
        mediaType: "application/vnd.oci.image.index.v1+json", digest: top.digest, size: top.size,
        annotations: { "io.containerd.image.name": "mp:1", "org.opencontainers.image.ref.name": "1" },
      });
      const index = blobText(dest, top);
      expect(index).toBe(JSON.stringify({
        schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: single.manifestDigest, size: (await blob(single.manifestDigest)).length, platform: { architecture: "amd64", os: "linux" } }],
      }));
    }, 60_000);
    it("type=image: the name points at the index; FROM it builds; the result names the index", async () => {
      const r = await run(ctx, { buildArgs: MP, tags: ["mp:2"] }).done;
      const store = await Store.open(root);
      const rec = await store.images.get("mp:2");
      expect(rec.target.mediaType).toBe("application/vnd.oci.image.index.v1+json");
      expect(r.manifestDigest).toBe(rec.target.digest);
      const out = join(work, "mp-from");
      await run(context("FROM mp:2\nRUN cat /multi > /again\n"), { outputs: [{ type: "local", dest: out }] }).done;
      expect(readFileSync(join(out, "again"), "utf8")).toBe("multi\n");
    }, 60_000);
    it("type=local and type=tar put the files under linux_amd64/; type=docker is refused", async () => {
      const dest = join(work, "mp-local");
      const tar = join(work, "mp.tar");
      await run(ctx, { buildArgs: MP, outputs: [{ type: "local", dest }, { type: "tar", dest: tar }], sourceDateEpoch: 1_600_000_000 }).done;
      expect(readFileSync(join(dest, "linux_amd64", "multi"), "utf8")).toBe("multi\n");
      expect(existsSync(join(dest, "multi"))).toBe(false);
      expect(statSync(join(dest, "linux_amd64")).mode & 0o777).toBe(0o755);
      const listing = execFileSync("tar", ["-tf", tar], { encoding: "utf8" }).split("\n");
      expect(listing[0]).toBe("linux_amd64/");
      expect(listing).toContain("linux_amd64/multi");
      const e = await run(ctx, { buildArgs: MP, outputs: [{ type: "docker", dest: join(work, "d.tar") }] }).done.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(OutputError);
      expect((e as Error).message).toMatch(/^docker exporter does not currently support exporting manifest lists/);
    }, 60_000);
  });
});

describe("annotations", () => {
  let ctx: string;
  let plain: Descriptor;
  beforeAll(async () => {
    ctx = context("FROM base:1\nRUN echo annotated > /a\n");
    const r = await run(ctx).done;
    plain = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: r.manifestDigest, size: (await blob(r.manifestDigest)).length };
  }, 60_000);
  const ann = (...specs: string[]) => specs.flatMap(parseAnnotationFlag);

  it("type=oci: manifest annotations in the manifest, manifest-descriptor ones in index.json (exact)", async () => {
    const dest = join(work, "ann-oci");
    const r = await run(ctx, {
      tags: ["ann:1"], compression: "none",
      annotations: ann("org.opencontainers.image.title=Title", "manifest,manifest-descriptor:both=yes", "manifest-descriptor:org.example.d=desc"),
      outputs: [parseOutput(`type=oci,dest=${dest},tar=false,annotation.from-output=o,annotation-manifest-descriptor.od=x`, [])],
    }).done;
    const layout = json(dest, "index.json") as { manifests: Descriptor[] };
    const top = layout.manifests[0] as Descriptor;
    expect(readFileSync(join(dest, "index.json"), "utf8")).toBe(JSON.stringify({
      schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json", digest: top.digest, size: top.size,
        annotations: { both: "yes", "org.example.d": "desc", od: "x", "io.containerd.image.name": "ann:1", "org.opencontainers.image.ref.name": "1" },
        platform: { architecture: "amd64", os: "linux" },
      }],
    }));
    const built = JSON.parse((await blob(plain.digest)).toString()) as Record<string, unknown>;
    expect(blobText(dest, top)).toBe(JSON.stringify({ ...built, annotations: { "org.opencontainers.image.title": "Title", both: "yes", "from-output": "o" } }));
    expect(r.imageId).toBe((JSON.parse(blobText(dest, top)) as { config: Descriptor }).config.digest);
  }, 60_000);
  it("type=image: the store's name points at the annotated manifest, with the descriptor annotations", async () => {
    const r = await run(ctx, { tags: ["ann:2"], annotations: ann("m=1", "manifest-descriptor:d=2") }).done;
    const rec = await (await Store.open(root)).images.get("ann:2");
    expect(rec.target.annotations).toEqual({ d: "2" });
    expect(r.manifestDigest).toBe(rec.target.digest);
    expect((JSON.parse((await blob(rec.target.digest)).toString()) as { annotations: unknown }).annotations).toEqual({ m: "1" });
    expect(r.manifestDigest).not.toBe(plain.digest);
  }, 60_000);
  it("with BUILDKIT_MULTI_PLATFORM=1: index, index-descriptor and platform-qualified annotations (exact)", async () => {
    const dest = join(work, "ann-mp");
    await run(ctx, {
      buildArgs: { BUILDKIT_MULTI_PLATFORM: "1" }, compression: "none",
      annotations: ann("m=all", "manifest[linux/amd64]:m=amd64", "manifest-descriptor[linux/amd64]:md=1", "index:i=2", "index-descriptor:id=3", "index[linux/arm64]:i2=4"),
      outputs: [{ type: "oci", dest, tar: false }],
    }).done;
    const top = (json(dest, "index.json") as { manifests: Descriptor[] }).manifests[0] as Descriptor;
    expect(top).toEqual({ mediaType: "application/vnd.oci.image.index.v1+json", digest: top.digest, size: top.size, annotations: { id: "3" } });
    const index = JSON.parse(blobText(dest, top)) as { manifests: Descriptor[] };
    const m = index.manifests[0] as Descriptor;
    expect(blobText(dest, top)).toBe(JSON.stringify({
      schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: m.digest, size: m.size, annotations: { md: "1" }, platform: { architecture: "amd64", os: "linux" } }],
      annotations: { i: "2", i2: "4" },
    }));
    expect((JSON.parse(blobText(dest, m)) as { annotations: unknown }).annotations).toEqual({ m: "amd64" });
  }, 60_000);
  it.each([
    ["index annotations on a single manifest", { annotations: ann("index:i=1") }, /index annotations not supported for single platform export/],
    ["a platform qualifier on a single manifest", { annotations: ann("manifest[linux/amd64]:k=v") }, /a platform applies to the manifests of an index/],
    ["a platform the build does not make", { annotations: ann("manifest[linux/arm64]:k=v"), buildArgs: { BUILDKIT_MULTI_PLATFORM: "1" } }, /no platform linux\/arm64 found in source \(this build makes linux\/amd64\)/],
    ["type=docker", { annotations: ann("k=v"), outputs: [{ type: "docker" as const, dest: join(work, "x.tar") }] }, /type=docker writes docker's archive format/],
    ["type=local", { annotations: ann("k=v"), outputs: [{ type: "local" as const, dest: join(work, "x") }] }, /type=local writes the root file system/],
  ])("refuses %s before any step runs", async (_what, extra, message) => {
    const r = run(ctx, extra as Partial<BuildOptions>);
    const e = await r.done.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OutputError);
    expect((e as Error).message).toMatch(message);
    expect(r.events.filter((x) => x.type === "step-start")).toEqual([]);
  });
  it("parses buildx's and BuildKit's spellings, refusing the unknown", () => {
    expect(parseAnnotationFlag("manifest,index[linux/arm64]:k=v=w")).toEqual([
      { type: "manifest", key: "k", value: "v=w" }, { type: "index", key: "k", value: "v=w" },
    ]);
    expect(parseAnnotationFlag("manifest-descriptor[linux/arm64/v8]:k=")).toEqual([{ type: "manifest-descriptor", platform: { os: "linux", architecture: "arm64" }, key: "k", value: "" }]);
    expect(() => parseAnnotationFlag("novalue")).toThrow('invalid annotation "novalue", expected key=value');
    expect(() => parseAnnotationFlag("config:k=v")).toThrow(/unknown annotation type "config"/);
    expect(() => parseAnnotationFlag("Manifest:k=v")).toThrow(/invalid annotation type "Manifest"/);
    expect(parseOutput("type=image,annotation[linux/amd64].k=v,annotation-index.i=j", [])).toEqual({
      type: "image", names: [], push: false,
      annotations: [{ type: "manifest", platform: { os: "linux", architecture: "amd64" }, key: "k", value: "v" }, { type: "index", key: "i", value: "j" }],
    });
    expect(() => parseOutput("type=oci,dest=x,annotation-config.k=v", [])).toThrow(/unrecognized annotation type config/);
    expect(() => parseOutput("type=docker,dest=x,annotation.k=v", [])).toThrow(/type=docker writes docker's archive format/);
  });
});
