/**
 * --platform linux/amd64,linux/arm64: every platform built (the arm64 RUN through QEMU), one OCI
 * image index of their manifests in the store, in type=oci and per platform in type=local; a
 * FROM --platform=$BUILDPLATFORM stage made once; type=docker refused before anything runs; pushed to
 * a loopback registry as an index and pulled back per platform; --cache-to/--cache-from of every
 * platform's steps (registry and local).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compressImage, MediaTypes, Store, parseIndex, resolveImage, type Descriptor } from "@tsbuild/oci";
import { pull, push } from "@tsbuild/registry";
import { platformRunnable } from "@tsbuild/runtime";
import { ARM64_BUSYBOX, busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";
import { buildHarness } from "./helpers/build-harness.js";
import { startRegistry, type RegistryServer } from "../../registry/test/helpers/registry-server.js";
import type { BuildEvent } from "../src/index.js";

const h = buildHarness("tsbuild-multi-");
const amd64 = { os: "linux", architecture: "amd64" };
const arm64 = { os: "linux", architecture: "arm64" };
const qemu = platformRunnable(arm64);
const can = qemu.ok && existsSync(ARM64_BUSYBOX);
if (!can) console.warn(`multi-platform.test skipped: ${qemu.ok ? `no arm64 busybox at ${ARM64_BUSYBOX} (scripts/setup-emulation.sh downloads it)` : qemu.why}`);

beforeAll(async () => {
  if (!can) return;
  const work = mkdtempSync(join(tmpdir(), "tsbuild-multi-rootfs-"));
  try {
    await storeBaseImage(h.root, "bb-arm64:1", busyboxTar(makeBusyboxRootfs(join(work, "arm"), { busybox: ARM64_BUSYBOX })), undefined, "arm64");
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  // busybox:multi, an index of the amd64 and arm64 images, as a registry's multi-arch image is
  const store = await Store.open(h.root);
  const manifests: Descriptor[] = [];
  for (const [name, platform] of [["base:1", amd64], ["bb-arm64:1", arm64]] as const) {
    manifests.push({ ...(await store.images.get(name))!.target, platform });
  }
  const put = await store.content.putBytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests }));
  await store.images.put("busybox:multi", { mediaType: MediaTypes.OCI_INDEX, digest: put.digest, size: put.size });
}, 120_000);

describe("a cross-built multi-platform image (no emulator needed: every RUN on the build platform)", () => {
  const text = [
    "FROM --platform=$BUILDPLATFORM base:1 AS build",
    "RUN echo tools > /tools",
    // declared after the shared step: an ARG in scope is in a RUN's environment, so in its key
    "ARG TARGETARCH",
    "RUN echo cross-built for $TARGETARCH on $(uname -m) > /out",
    "FROM scratch",
    "COPY --from=build /out /out",
  ].join("\n") + "\n";

  it("runs the shared steps once for both targets (equal keys in flight at once), each target's own steps for each", async () => {
    const events: BuildEvent[] = [];
    const { r, out } = await h.buildText(text, { platforms: [amd64, arm64], noCache: true, onEvent: (e) => events.push(e) });
    const runs = (what: string) => r.steps.filter((s) => s.instruction.startsWith(what));
    // RUN echo tools does not depend on the target: one run, the other platform takes its record
    expect(runs("RUN echo tools").map((s) => s.cached).sort()).toEqual([false, true]);
    // the cross step reads TARGETARCH: one run for each
    expect(runs("RUN echo cross-built").map((s) => `${s.platform} ${s.cached}`).sort()).toEqual(["linux/amd64 false", "linux/arm64 false"]);
    expect(readFileSync(join(out, "linux_amd64/out"), "utf8")).toBe("cross-built for amd64 on x86_64\n");
    expect(readFileSync(join(out, "linux_arm64/out"), "utf8")).toBe("cross-built for arm64 on x86_64\n");
    const starts = events.flatMap((e) => (e.type === "step-start" && e.instruction.startsWith("RUN echo tools") ? [e.stage] : []));
    expect(starts.sort()).toEqual(["linux/amd64 build", "linux/arm64 build"]);
    // a rebuild: everything from the cache
    const again = await h.buildText(text, { platforms: [amd64, arm64] });
    expect(again.r.steps.every((s) => s.cached)).toBe(true);
  }, 120_000);

  it("one platform's failure stops the other and is the build's error", async () => {
    const bad = "FROM --platform=$BUILDPLATFORM base:1 AS build\nARG TARGETARCH\nRUN test $TARGETARCH != arm64\nRUN sleep 5\nFROM scratch\nCOPY --from=build / /\n";
    await expect(h.buildText(bad, { platforms: [amd64, arm64] })).rejects.toThrow('process "/bin/sh -c test $TARGETARCH != arm64" did not complete successfully: exit code: 1');
  }, 120_000);
});

describe.skipIf(!can)("a multi-platform build", () => {
  const text = [
    "FROM --platform=$BUILDPLATFORM busybox:multi AS tools",
    "RUN echo made on $(uname -m) > /tool",
    "FROM busybox:multi",
    "ARG TARGETARCH",
    "COPY --from=tools /tool /tool",
    "RUN echo $TARGETARCH $(uname -m) > /m",
  ].join("\n") + "\n";

  it("writes one index of both platforms; each platform's files are its own; the $BUILDPLATFORM stage runs once", async () => {
    const events: BuildEvent[] = [];
    const { r, out } = await h.buildText(text, { platforms: [amd64, arm64], tags: ["multi:1"], outputs: [{ type: "image" }, { type: "local", dest: join(h.work, "multi-local") }], onEvent: (e) => events.push(e) });
    // progress as BuildKit's: [linux/arm64 stage-1 3/4], one id sequence for both platforms
    const starts = events.flatMap((e) => (e.type === "step-start" ? [e] : []));
    expect(new Set(starts.map((e) => e.id)).size).toBe(starts.length);
    expect(starts.map((e) => e.stage.split(" ")[0])).toContain("linux/arm64");
    expect(starts.find((e) => e.instruction.startsWith("RUN echo $TARGETARCH") && e.stage.startsWith("linux/arm64 "))).toBeDefined();
    expect(new Set(r.steps.map((s) => s.platform))).toEqual(new Set(["linux/amd64", "linux/arm64"]));
    const store = await Store.open(h.root);
    const target = (await store.images.get("multi:1"))!.target;
    expect(target.mediaType).toBe(MediaTypes.OCI_INDEX);
    expect(r.manifestDigest).toBe(target.digest);
    const index = parseIndex(await store.content.readBytes(target.digest));
    expect(index.manifests.map((m) => m.platform)).toEqual([{ architecture: "amd64", os: "linux" }, { architecture: "arm64", os: "linux" }]);
    expect(r.platforms?.map((p) => p.platform)).toEqual(["linux/amd64", "linux/arm64"]);
    const local = join(h.work, "multi-local");
    expect(readFileSync(join(local, "linux_amd64/m"), "utf8")).toBe("amd64 x86_64\n");
    expect(readFileSync(join(local, "linux_arm64/m"), "utf8")).toBe("arm64 aarch64\n");
    expect(readFileSync(join(local, "linux_arm64/tool"), "utf8")).toBe("made on x86_64\n");
    // the tools stage: run by one platform, the other's solve (at the same time) takes its record
    const toolRuns = r.steps.filter((s) => s.instruction.startsWith("RUN echo made on"));
    expect(toolRuns.map((s) => s.cached).sort()).toEqual([false, true]);
    void out;
  }, 180_000);

  it("with --no-cache, the platforms solved at once run the $BUILDPLATFORM stage's steps once, each platform's own steps each", async () => {
    const events: BuildEvent[] = [];
    const { r, out } = await h.buildText(text, { platforms: [amd64, arm64], noCache: true, onEvent: (e) => events.push(e) });
    const ran = r.steps.filter((s) => !s.cached).map((s) => `${s.platform} ${s.instruction}`);
    expect(ran.filter((s) => s.endsWith("RUN echo made on $(uname -m) > /tool"))).toHaveLength(1);
    expect(ran.filter((s) => s.includes("RUN echo $TARGETARCH")).sort()).toEqual(["linux/amd64 RUN echo $TARGETARCH $(uname -m) > /m", "linux/arm64 RUN echo $TARGETARCH $(uname -m) > /m"]);
    // every step's events name its platform, the shared step's too
    const labels = events.flatMap((e) => (e.type === "step-start" && e.instruction.startsWith("RUN echo made on") ? [e.stage] : [])).sort();
    expect(labels).toEqual(["linux/amd64 tools", "linux/arm64 tools"]);
    expect(readFileSync(join(out, "linux_arm64/tool"), "utf8")).toBe("made on x86_64\n");
  }, 180_000);

  it("its amd64 image is the single-platform build's; a rebuild hits every step of both", async () => {
    const epoch = { sourceDateEpoch: 1_700_000_000 };
    const multi = await h.buildText(text, { ...epoch, platforms: [amd64, arm64] });
    const single = await h.buildText(text, { ...epoch, platform: amd64 });
    expect(multi.r.platforms?.[0]?.imageId).toBe(single.r.imageId);
    const again = await h.buildText(text, { ...epoch, platforms: [amd64, arm64] });
    expect(again.r.steps.every((s) => s.cached)).toBe(true);
    expect(again.r.manifestDigest).toBe(multi.r.manifestDigest);
  }, 180_000);

  it("type=docker is refused before anything runs; type=oci holds the index", async () => {
    await expect(h.buildText(text, { platforms: [amd64, arm64], outputs: [{ type: "docker", dest: join(h.work, "d.tar") }] })).rejects.toThrow(/docker exporter does not currently support exporting manifest lists/);
    expect(existsSync(join(h.work, "d.tar"))).toBe(false);
    const dest = join(h.work, "oci-dir");
    await h.buildText(text, { platforms: [amd64, arm64], outputs: [{ type: "oci", dest, tar: false }] });
    const top = parseIndex(readFileSync(join(dest, "index.json")));
    const inner = parseIndex(readFileSync(join(dest, "blobs", ...(top.manifests[0]!.digest.split(":")))));
    expect(inner.manifests.map((m) => m.platform?.architecture)).toEqual(["amd64", "arm64"]);
  }, 180_000);
});

describe.skipIf(!can)("a multi-platform build through a registry (Debian's docker-registry on loopback)", () => {
  let registry: RegistryServer;
  let base: string;
  let n = 0;
  const fresh = () => join(h.work, `fresh-${n++}`);
  const text = (from: string) => [
    `FROM --platform=$BUILDPLATFORM ${from} AS tools`,
    "RUN echo made on $(uname -m) > /tool",
    `FROM ${from}`,
    "ARG TARGETARCH",
    "COPY --from=tools /tool /tool",
    "RUN echo $TARGETARCH $(uname -m) > /m",
  ].join("\n") + "\n";
  beforeAll(async () => {
    if (!can) return;
    registry = await startRegistry();
    base = `${registry.host}/busybox:multi`;
    const store = await Store.open(h.root);
    await push(store, await compressImage(store, (await store.images.get("busybox:multi"))!.target, "gzip"), base);
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it("pushes one index of both platforms; each is pulled back for its platform; the caches hit every step of both on an empty store", async () => {
    const epoch = { sourceDateEpoch: 1_700_000_000 };
    const app = `${registry.host}/app:multi`;
    const cacheRef = `${registry.host}/cache:multi`;
    const localCache = join(h.work, "multi-cache");
    const reg = { insecureRegistries: [registry.host] };
    const built = await build(fresh(), {
      ...epoch, ...reg, platforms: [amd64, arm64], tags: [app], outputs: [{ type: "image", push: true }],
      cacheTo: [{ type: "registry", ref: cacheRef, mode: "max" }, { type: "local", dest: localCache, mode: "max" }],
    });
    // the registry holds an OCI index of the two platforms' manifests (their layers gzip, as a push sends them)
    const res = await fetch(`http://${registry.host}/v2/app/manifests/multi`, { headers: { accept: MediaTypes.OCI_INDEX } });
    const index = await res.json() as { mediaType: string; manifests: Descriptor[] };
    expect(index.mediaType).toBe(MediaTypes.OCI_INDEX);
    expect(index.manifests.map((m) => m.platform)).toEqual([{ architecture: "amd64", os: "linux" }, { architecture: "arm64", os: "linux" }]);
    // pulled back per platform into an empty store: each is the image built for it
    const back = await Store.open(fresh());
    for (const [platform, p] of [[amd64, built.platforms![0]!], [arm64, built.platforms![1]!]] as const) {
      const pulled = await pull(back, app, { ...reg, platform });
      const img = await resolveImage(back.content, pulled.manifest);
      expect(img.manifest.config.digest).toBe(p.imageId);
      expect(img.config.architecture).toBe(platform.architecture);
    }
    // an empty store with either cache: every step of both platforms is a hit, the same images
    for (const cacheFrom of [[{ type: "registry" as const, ref: cacheRef }], [{ type: "local" as const, src: localCache }]]) {
      const again = await build(fresh(), { ...epoch, ...reg, platforms: [amd64, arm64], cacheFrom });
      expect(again.steps.filter((s) => !s.cached).map((s) => `${s.platform} ${s.instruction}`)).toEqual([]);
      expect(new Set(again.steps.map((s) => s.platform))).toEqual(new Set(["linux/amd64", "linux/arm64"]));
      expect(again.platforms?.map((p) => p.imageId)).toEqual(built.platforms?.map((p) => p.imageId));
    }
  }, 180_000);

  async function build(root: string, options: Partial<Parameters<typeof h.buildText>[1]>) {
    const { r } = await h.buildText(text(base), { root, ...options });
    return r;
  }
});
