/**
 * FROM resolves its base for the build's platform: a name the store holds for another platform (what
 * an earlier build or pull wrote) is pulled again for this one, never used as it is (issue 17's first
 * bug: an arm64 build after an amd64 one wrote an amd64 image).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { MediaTypes, Store, storeLayer, writeImage, type Descriptor, type Platform } from "@tsbuild/oci";
import { push } from "@tsbuild/registry";
import { startRegistry, type RegistryServer } from "../../registry/test/helpers/registry-server.js";
import { buildHarness } from "./helpers/build-harness.js";

const h = buildHarness("tsbuild-base-platform-");
let registry: RegistryServer;
let ref: string;

beforeAll(async () => {
  registry = await startRegistry();
  const source = await Store.open(join(h.work, "source"));
  const manifests: Descriptor[] = [];
  for (const p of [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64", variant: "v8" }] as Platform[]) {
    const text = Buffer.from(`built for ${p.architecture}\n`);
    const layer = await storeLayer(source.content, [
      { path: "arch", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: text.length, open: () => Readable.from([text]) },
    ]);
    const img = await writeImage(source.content, { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) }, [layer]);
    manifests.push({ ...img.manifest, platform: p });
  }
  const put = await source.content.putBytes(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests })));
  ref = `${registry.host}/multi:1`;
  await push(source, { mediaType: MediaTypes.OCI_INDEX, digest: put.digest, size: put.size }, ref);
}, 60_000);
afterAll(async () => {
  await registry?.stop();
});

async function configOf(imageId: string): Promise<{ architecture?: string }> {
  const store = await Store.open(h.root);
  return JSON.parse((await store.content.readBytes(imageId as `sha256:${string}`)).toString()) as { architecture?: string };
}

describe("a base image for the build's platform", () => {
  it("an arm64 build after an amd64 one of the same base uses the arm64 image", async () => {
    const text = `FROM ${ref}\nENV X=1\n`;
    const amd = await h.buildText(text, { insecureRegistries: [registry.host] });
    expect(readFileSync(join(amd.out, "arch"), "utf8")).toBe("built for amd64\n");
    expect((await configOf(amd.r.imageId)).architecture).toBe("amd64");
    const arm = await h.buildText(text, { insecureRegistries: [registry.host], platform: { os: "linux", architecture: "arm64" } });
    expect(readFileSync(join(arm.out, "arch"), "utf8")).toBe("built for arm64\n");
    const config = await configOf(arm.r.imageId);
    expect(config.architecture).toBe("arm64");
    expect(arm.r.imageId).not.toBe(amd.r.imageId);
    // and back: the host's build is again the amd64 image (the name was pulled for arm64 meanwhile)
    const again = await h.buildText(text, { insecureRegistries: [registry.host] });
    expect(readFileSync(join(again.out, "arch"), "utf8")).toBe("built for amd64\n");
    expect((await configOf(again.r.imageId)).architecture).toBe("amd64");
  }, 120_000);

  it("a local image of another platform that no registry has fails, naming both platforms, and names nothing", async () => {
    await expect(h.buildText("FROM base:1\nENV X=1\n", { platform: { os: "linux", architecture: "arm64" } }))
      .rejects.toThrow(/image docker\.io\/library\/base:1 in the store is linux\/amd64, not linux\/arm64, and pulling it for linux\/arm64 failed/);
    const store = await Store.open(h.root);
    expect(await store.images.get("wrong:1").catch(() => undefined)).toBeUndefined();
  }, 60_000);

  it("FROM --platform picks the stage's platform: its base for that platform, whatever the build's target", async () => {
    const { out } = await h.buildText(`FROM --platform=linux/arm64 ${ref} AS a\nFROM scratch\nCOPY --from=a /arch /arch\n`, { insecureRegistries: [registry.host] });
    expect(readFileSync(join(out, "arch"), "utf8")).toBe("built for arm64\n");
  }, 60_000);

  it("a FROM --platform=$BUILDPLATFORM stage is keyed by the build platform: another target reuses its steps", async () => {
    const text = `FROM --platform=$BUILDPLATFORM base:1 AS build\nRUN echo built on $(uname -m) > /x\nFROM ${ref}\nCOPY --from=build /x /x\n`;
    const amd = await h.buildText(text, { insecureRegistries: [registry.host] });
    const arm = await h.buildText(text, { insecureRegistries: [registry.host], platform: { os: "linux", architecture: "arm64" } });
    const runOf = (steps: typeof amd.r.steps) => steps.find((s) => s.instruction.startsWith("RUN"));
    expect(runOf(amd.r.steps)?.cached).toBe(false);
    expect(runOf(arm.r.steps)?.cached).toBe(true);
    expect(readFileSync(join(arm.out, "x"), "utf8")).toBe("built on x86_64\n");
    expect(readFileSync(join(arm.out, "arch"), "utf8")).toBe("built for arm64\n");
  }, 60_000);
});
