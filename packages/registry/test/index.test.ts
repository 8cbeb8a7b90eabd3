import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { MediaTypes, Store, sha256Digest, storeLayer, writeImage, type Descriptor, type Platform } from "@tsbuild/oci";
import { hostPlatform, pull, push } from "../src/index.js";
import { startRegistry, type RegistryServer } from "./helpers/registry-server.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-registry-index-"));
let n = 0;
const freshStore = () => Store.open(join(work, `store-${n++}`));
const skopeoRaw = (ref: string) => execFileSync("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`]);

const platforms: Platform[] = [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64", variant: "v8" }];
let registry: RegistryServer;
let source: Store;
let index: Descriptor;
let indexBytes: Buffer;
const children = new Map<string, Descriptor>();

beforeAll(async () => {
  registry = await startRegistry();
  source = await freshStore();
  const manifests: Descriptor[] = [];
  for (const p of platforms) {
    const text = Buffer.from(`built for ${p.architecture}\n`);
    const layer = await storeLayer(source.content, [
      { path: "arch", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: text.length, open: () => Readable.from([text]) },
    ]);
    const img = await writeImage(source.content, { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) }, [layer]);
    children.set(p.architecture, img.manifest);
    manifests.push({ ...img.manifest, platform: p });
  }
  indexBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests }));
  const put = await source.content.putBytes(indexBytes);
  index = { mediaType: MediaTypes.OCI_INDEX, digest: put.digest, size: put.size };
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("multi-platform images", () => {
  it("pushes an OCI index (children first), re-pushes nothing, and the registry holds exactly our bytes", async () => {
    const first = await push(source, index, `${registry.host}/multi:1`);
    expect(first.uploaded).toBe(4); // one config and one layer per platform
    expect(first.digest).toBe(index.digest);
    expect(skopeoRaw(`${registry.host}/multi:1`).equals(indexBytes)).toBe(true);
    for (const m of children.values()) {
      expect(sha256Digest(skopeoRaw(`${registry.host}/multi@${m.digest}`))).toBe(m.digest);
    }
    const again = await push(source, index, `${registry.host}/multi:1`);
    expect(again.uploaded).toBe(0);
  });

  it.each([
    ["linux/amd64", platforms[0], "amd64"],
    ["linux/arm64/v8", platforms[1], "arm64"],
    ["linux/arm64 (no variant asked)", { os: "linux", architecture: "arm64" }, "arm64"],
    ["the host's platform (default)", undefined, hostPlatform().architecture],
  ] as const)("pulls the index for %s", async (_name, platform, arch) => {
    const dest = await freshStore();
    const r = await pull(dest, `${registry.host}/multi:1`, platform ? { platform } : {});
    expect(r.index?.digest).toBe(index.digest);
    // the digest the registry's index lists for that platform, as skopeo reads it
    const listed = (JSON.parse(skopeoRaw(`${registry.host}/multi:1`).toString()) as { manifests: Descriptor[] }).manifests;
    const want = listed.find((m) => m.platform?.architecture === arch);
    expect(want).toBeDefined();
    expect(r.manifest.digest).toBe(want?.digest);
    expect(r.manifest.digest).toBe(children.get(arch)?.digest);
    expect(r.downloaded).toBe(2);
    expect((await dest.images.get(`${registry.host}/multi:1`))?.target.digest).toBe(r.manifest.digest);
  });

  it("a platform the index lacks is a clear error naming what it has", async () => {
    await expect(pull(await freshStore(), `${registry.host}/multi:1`, { platform: { os: "linux", architecture: "s390x" } }))
      .rejects.toThrow("has no image for linux/s390x (it has linux/amd64, linux/arm64/v8)");
  });

  it("pulls a Docker manifest list (as skopeo converts it) for each platform", async () => {
    execFileSync("skopeo", ["copy", "--all", "--insecure-policy", "--src-tls-verify=false", "--dest-tls-verify=false", "--format", "v2s2",
      `docker://${registry.host}/multi:1`, `docker://${registry.host}/multi-docker:1`], { stdio: "ignore" });
    const raw = skopeoRaw(`${registry.host}/multi-docker:1`);
    const list = JSON.parse(raw.toString()) as { mediaType: string; manifests: Descriptor[] };
    expect(list.mediaType).toBe(MediaTypes.DOCKER_MANIFEST_LIST);
    for (const p of platforms) {
      const r = await pull(await freshStore(), `${registry.host}/multi-docker:1`, { platform: p });
      expect(r.index).toEqual({ mediaType: MediaTypes.DOCKER_MANIFEST_LIST, digest: sha256Digest(raw), size: raw.length });
      expect(r.manifest.mediaType).toBe(MediaTypes.DOCKER_MANIFEST);
      expect(r.manifest.digest).toBe(list.manifests.find((m) => m.platform?.architecture === p.architecture)?.digest);
    }
  });
});
