import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MediaTypes } from "@tsbuild/oci";
import { build, CacheSpecError, parseCacheFrom, parseCacheTo, type BuildEvent, type BuildOptions, type CacheFromSpec, type CacheToSpec } from "../src/index.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";
import { startRegistry, type RegistryServer } from "../../registry/test/helpers/registry-server.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cache-share-"));
const ctx = join(work, "ctx");
let baseTar: Buffer;
let registry: RegistryServer | undefined;
afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

// two stages; the RUNs write a timestamp, so a step that runs again makes another layer
const DOCKERFILE = [
  "FROM base:1 AS builder",
  "WORKDIR /src",
  "COPY a.txt .",
  "RUN cat a.txt > built.txt && date +%s%N > stamp.txt",
  "",
  "FROM base:1",
  "WORKDIR /app",
  "COPY b.txt .",
  "COPY --from=builder /src/built.txt /src/stamp.txt ./",
  "RUN cat built.txt b.txt > both.txt && date +%s%N > stamp2.txt",
  "ENV DONE=1",
].join("\n");
const FINAL_RUN = "RUN cat built.txt b.txt > both.txt && date +%s%N > stamp2.txt";

let stores = 0;
/** A fresh store holding only the base image (the same manifest digest in every store). */
async function freshStore(): Promise<string> {
  const root = join(work, `store-${++stores}`);
  await storeBaseImage(root, "base:1", baseTar);
  return root;
}

beforeAll(async () => {
  baseTar = busyboxTar(makeBusyboxRootfs(join(work, "rootfs")));
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "a.txt"), "a\n");
  writeFileSync(join(ctx, "b.txt"), "b\n");
  writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE);
}, 60_000);

interface Built {
  imageId: string;
  steps: string[];
  warnings: string[];
  exported: string[];
}

async function run(root: string, extra: Partial<BuildOptions> = {}): Promise<Built> {
  const warnings: string[] = [];
  const onEvent = (e: BuildEvent) => {
    if (e.type === "warning") warnings.push(e.message);
  };
  const r = await build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" }, insecureRegistries: [], onEvent, ...extra });
  const steps = r.steps.map((s) => `${s.stage} ${s.cached ? "cached" : "ran"} ${s.instruction}`);
  return { imageId: r.imageId, steps: steps.sort(), warnings, exported: r.exported };
}
const from = (...specs: string[]): CacheFromSpec[] => specs.map(parseCacheFrom);
const to = (...specs: string[]): CacheToSpec[] => specs.map(parseCacheTo);
const ran = (b: Built) => b.steps.filter((s) => s.includes(" ran "));
const layerBlobs = (dir: string) => readdirSync(join(dir, "blobs", "sha256"));

describe("sharing the build cache", () => {
  let storeA: string;
  let first: Built;
  const maxDir = join(work, "cache-max");
  const minDir = join(work, "cache-min");

  it("--cache-to type=local,mode=max writes an OCI layout holding a cache artifact", async () => {
    storeA = await freshStore();
    first = await run(storeA, { cacheTo: to(`type=local,dest=${maxDir},mode=max`) });
    expect(ran(first)).toHaveLength(8);
    expect(first.exported.at(-1)).toMatch(/^local cache .*cache-max \(mode=max: 8 records, 7 layers\)$/); // ENV has a record, no layer
    const index = JSON.parse(readFileSync(join(maxDir, "index.json"), "utf8"));
    expect(JSON.parse(readFileSync(join(maxDir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
    expect(index.manifests).toHaveLength(1);
    const manifest = JSON.parse(readFileSync(join(maxDir, "blobs", "sha256", index.manifests[0].digest.slice(7)), "utf8"));
    expect(manifest.artifactType).toBe("application/vnd.tsbuild.cache.v1");
    expect(manifest.config.mediaType).toBe("application/vnd.tsbuild.cache.config.v1+json");
    expect(manifest.layers).toHaveLength(7);
    const config = JSON.parse(readFileSync(join(maxDir, "blobs", "sha256", manifest.config.digest.slice(7)), "utf8"));
    expect(config.records.map((r: { createdBy: string }) => r.createdBy)).toContain("RUN /bin/sh -c cat built.txt b.txt > both.txt && date +%s%N > stamp2.txt # buildkit");
    // exactly the manifest, its config and the layers; no ingest directory left
    expect(layerBlobs(maxDir).sort()).toEqual([index.manifests[0].digest, manifest.config.digest, ...manifest.layers.map((l: { digest: string }) => l.digest)].map((d: string) => d.slice(7)).sort());
    expect(existsSync(join(maxDir, "blobs", "ingest"))).toBe(false);
  });

  it("a fresh store with --cache-from type=local hits every step and gives the identical image id", async () => {
    const index = readFileSync(join(maxDir, "index.json"), "utf8");
    mkdirSync(join(maxDir, "blobs", "ingest"));
    writeFileSync(join(maxDir, "blobs", "ingest", "left-by-a-killed-export"), "partial");
    const b = await run(await freshStore(), { cacheFrom: from(`type=local,src=${maxDir}`), cacheTo: to(`type=local,dest=${maxDir},mode=max`) });
    expect(ran(b)).toEqual([]);
    expect(b.steps).toHaveLength(8);
    expect(b.imageId).toBe(first.imageId);
    expect(b.warnings).toEqual([]);
    // exporting back into the directory it imported from: the records came verbatim, the same cache
    expect(readFileSync(join(maxDir, "index.json"), "utf8")).toBe(index);
    expect(existsSync(join(maxDir, "blobs", "ingest"))).toBe(false);
  });

  it("imports lazily: a build of the first stage only copies that stage's layers", async () => {
    const root = await freshStore();
    const before = layerBlobs(root).length;
    const b = await run(root, { target: "builder", cacheFrom: from(`type=local,src=${maxDir}`) });
    expect(ran(b)).toEqual([]);
    expect(b.steps).toHaveLength(3);
    expect(layerBlobs(root).length - before).toBeLessThanOrEqual(3 + 2); // 3 layers (+ image config and manifest)
  });

  it("mode=min carries the final image's steps only: a fresh store reruns the other stage's steps", async () => {
    const again = await run(storeA, { cacheTo: to(`type=local,dest=${minDir},mode=min`) });
    expect(ran(again)).toEqual([]);
    expect(again.exported.at(-1)).toMatch(/\(mode=min: 5 records, 4 layers\)$/);
    const target = await run(await freshStore(), { target: "builder", cacheFrom: from(`type=local,src=${minDir}`) });
    expect(ran(target)).toEqual(["builder ran COPY a.txt .", "builder ran RUN cat a.txt > built.txt && date +%s%N > stamp.txt", "builder ran WORKDIR /src"]);
    // the whole build: the builder stage runs, the final stage's steps (keyed by the builder's keys) hit
    const whole = await run(await freshStore(), { cacheFrom: from(`type=local,src=${minDir}`) });
    expect(ran(whole)).toHaveLength(3);
    expect(ran(whole).every((s) => s.startsWith("builder "))).toBe(true);
    expect(whole.imageId).toBe(first.imageId);
  });

  it("a tampered layer in the cache directory is rejected: the step runs and the image is right", async () => {
    const dir = join(work, "cache-tampered");
    cpSync(maxDir, dir, { recursive: true });
    const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
    const manifest = JSON.parse(readFileSync(join(dir, "blobs", "sha256", index.manifests[0].digest.slice(7)), "utf8"));
    const config = JSON.parse(readFileSync(join(dir, "blobs", "sha256", manifest.config.digest.slice(7)), "utf8"));
    const rec = config.records.find((r: { createdBy: string }) => r.createdBy.includes("> both.txt"));
    const layerFile = join(dir, "blobs", "sha256", rec.layer.descriptor.digest.slice(7));
    const bytes = readFileSync(layerFile);
    const at = bytes.indexOf("both.txt") + 600; // inside the file's 512-byte content block
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(layerFile, bytes); // same size, other content
    const root = await freshStore();
    const out = join(work, "tampered-rootfs");
    const b = await run(root, { cacheFrom: from(`type=local,src=${dir}`), outputs: [{ type: "local", dest: out }] });
    expect(ran(b)).toEqual([`1 ran ${FINAL_RUN}`]);
    expect(b.warnings.join("\n")).toMatch(/local cache .*cache-tampered: not using the record of "RUN \/bin\/sh -c cat built.txt .*digest mismatch/);
    expect(readFileSync(join(out, "app", "both.txt"), "utf8")).toBe("a\nb\n");
    expect(existsSync(join(root, "blobs", "sha256", rec.layer.descriptor.digest.slice(7)))).toBe(false);
    expect(readdirSync(join(root, "blobs", "ingest"))).toEqual([]);
  });

  it("a missing or unreadable source is a warning and the build runs without it", async () => {
    const garbage = join(work, "cache-garbage");
    mkdirSync(garbage, { recursive: true });
    writeFileSync(join(garbage, "index.json"), "{not json");
    const b = await run(await freshStore(), { target: "builder", cacheFrom: from(`type=local,src=${join(work, "nowhere")}`, `type=local,src=${garbage}`, `type=local,src=${maxDir}`) });
    expect(ran(b)).toEqual([]);
    expect(b.warnings).toHaveLength(2);
    expect(b.warnings[0]).toMatch(/nowhere is not used: .*no index.json/);
    expect(b.warnings[1]).toMatch(/cache-garbage is not used: .*not valid JSON/);
  });

  it("a failed export fails the build, after the image is written; ignore-error=true makes it a warning", async () => {
    const notADir = join(work, "a-file");
    writeFileSync(notADir, "");
    const root = await freshStore();
    await expect(run(root, { target: "builder", cacheTo: to(`type=local,dest=${notADir}`) })).rejects.toThrow(
      /^exporting the local cache .*a-file failed: .*ENOTDIR.* \(the image was built; add ignore-error=true to --cache-to to carry on without the cache\)$/);
    const b = await run(root, { target: "builder", cacheTo: to(`type=local,dest=${notADir},ignore-error=true`, `type=local,dest=${join(work, "cache-ok")}`) });
    expect(b.warnings.join("\n")).toMatch(/exporting the local cache .*a-file failed/);
    expect(b.exported.at(-1)).toMatch(/cache-ok \(mode=min: 3 records, 3 layers\)$/);
  });

  describe("through a registry (Debian's docker-registry on loopback)", () => {
    beforeAll(async () => {
      registry = await startRegistry();
    });

    it("--cache-to type=registry pushes a cache artifact the registry accepts; a fresh store hits every step", async () => {
      const ref = `${registry!.host}/cache:x`;
      const exported = await run(storeA, { cacheTo: to(`type=registry,ref=${ref},mode=max`) });
      expect(exported.exported.at(-1)).toBe(`registry cache ${ref} (mode=max: 8 records, 7 layers)`);
      const res = await fetch(`http://${registry!.host}/v2/cache/manifests/x`, { headers: { accept: MediaTypes.OCI_MANIFEST } });
      expect((await res.json()).artifactType).toBe("application/vnd.tsbuild.cache.v1");
      const b = await run(await freshStore(), { cacheFrom: from(`type=registry,ref=${ref}`) });
      expect(ran(b)).toEqual([]);
      expect(b.imageId).toBe(first.imageId);
    });

    it("--cache-to type=inline: the pushed image carries its cache; a fresh store hits its steps and gives the same id", async () => {
      const image = `${registry!.host}/app:1`;
      const a = await run(storeA, { tags: [image], cacheTo: to("type=inline"), outputs: [{ type: "image", push: true }] });
      expect(ran(a)).toEqual([]);
      expect(a.imageId).not.toBe(first.imageId); // the config holds the cache
      const b = await run(await freshStore(), { cacheFrom: from(image), cacheTo: to("type=inline") });
      expect(ran(b).every((s) => s.startsWith("builder "))).toBe(true); // inline is mode=min
      expect(b.steps.filter((s) => s.startsWith("1 cached"))).toHaveLength(5);
      expect(b.imageId).toBe(a.imageId);
    });

    it("an image without an inline cache, or a missing ref, is a warning", async () => {
      const b = await run(await freshStore(), { target: "builder", cacheFrom: from(`${registry!.host}/nothing:here`) });
      expect(ran(b)).toHaveLength(3);
      expect(b.warnings.join("\n")).toMatch(/registry cache .*nothing:here is not used/);
    });
  });
});

describe("cache specs", () => {
  it("parses buildx's spellings", () => {
    expect(parseCacheFrom("type=local,src=/c")).toEqual({ type: "local", src: "/c" });
    expect(parseCacheFrom("type=registry,ref=r.example/c:x")).toEqual({ type: "registry", ref: "r.example/c:x" });
    expect(parseCacheFrom("r.example/app:1")).toEqual({ type: "registry", ref: "r.example/app:1" });
    expect(parseCacheTo("type=local,dest=/c")).toEqual({ type: "local", dest: "/c", mode: "min" });
    expect(parseCacheTo("type=registry,ref=r/c,mode=max,ignore-error=true,oci-mediatypes=true,image-manifest=true")).toEqual({ type: "registry", ref: "r/c", mode: "max", ignoreError: true });
    expect(parseCacheTo("type=inline")).toEqual({ type: "inline" });
  });
  it("says what is wrong with a bad spec", () => {
    const bad: [() => unknown, RegExp][] = [
      [() => parseCacheTo("type=local"), /needs dest=DIR/],
      [() => parseCacheTo("type=local,dest=/c,mode=all"), /mode=all: use mode=min or mode=max/],
      [() => parseCacheTo("type=gha"), /unknown type=gha \(use local, registry or inline\)/],
      [() => parseCacheTo("type=inline,mode=max"), /only supports mode=min/],
      [() => parseCacheTo("dest=/c"), /type= is required/],
      [() => parseCacheFrom("type=local,dest=/c"), /unknown option dest=/],
      [() => parseCacheFrom("type=registry"), /needs ref=REF/],
      [() => parseCacheTo("type=registry,ref=r,oci-mediatypes=false"), /always writes an OCI image manifest/],
      [() => parseCacheTo("type=registry,ref=Bad Ref"), /--cache-to type=registry,ref=Bad Ref: .*/],
      [() => parseCacheTo(`type=registry,ref=r/c@sha256:${"a".repeat(64)}`), /names a digest; give a tag/],
    ];
    for (const [fn, msg] of bad) expect(fn).toThrow(msg);
    expect(() => parseCacheFrom("")).toThrow(CacheSpecError);
  });
});
