/**
 * SOURCE_DATE_EPOCH: two builds of the same inputs on two fresh stores give the same image digest
 * (config, history and layer entry times clamped), even when the context files' times differ and
 * the builds run at different times.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "../src/index.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-repro-"));
const ctx = join(work, "ctx");
let busybox: Buffer;
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  busybox = busyboxTar(makeBusyboxRootfs(join(work, "rootfs")));
  mkdirSync(join(ctx, "src"), { recursive: true });
  writeFileSync(join(ctx, "src", "a.txt"), "a\n");
  writeFileSync(join(ctx, "Dockerfile"), [
    "FROM base:1 AS build",
    "WORKDIR /w",
    "COPY src/ ./",
    "RUN echo built > out.txt && mkdir -p made/deeper && touch made/deeper/f",
    "FROM base:1",
    "COPY --from=build /w /app",
    "LABEL v=1",
    "ENV X=1",
    'CMD ["cat", "/app/out.txt"]',
  ].join("\n"));
}, 60_000);

async function freshBuild(name: string): Promise<{ imageId: string; manifest: string }> {
  const root = join(work, name);
  await storeBaseImage(root, "base:1", busybox);
  const r = await build({ context: ctx, root, sourceDateEpoch: 1_700_000_000, platform: { os: "linux", architecture: "amd64" } });
  return { imageId: r.imageId, manifest: r.manifestDigest };
}

describe("SOURCE_DATE_EPOCH", () => {
  it("gives the same image digest from two fresh stores", async () => {
    const a = await freshBuild("store-a");
    // another moment, other file times in the context
    await new Promise((r) => setTimeout(r, 1100));
    utimesSync(join(ctx, "src", "a.txt"), new Date(), new Date(Date.now() + 5_000_000));
    const b = await freshBuild("store-b");
    expect(b.manifest).toBe(a.manifest);
    expect(b.imageId).toBe(a.imageId);
  }, 60_000);
});

describe("SOURCE_DATE_EPOCH and the cache", () => {
  it("a layer cached without the epoch is not reused by a build with it", async () => {
    const root = join(work, "store-c");
    await storeBaseImage(root, "base:1", busybox);
    const plain = await build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" } });
    const clamped = await build({ context: ctx, root, sourceDateEpoch: 1_700_000_000, platform: { os: "linux", architecture: "amd64" } });
    expect(clamped.steps.filter((s) => s.instruction.startsWith("RUN")).every((s) => !s.cached)).toBe(true);
    expect(clamped.manifestDigest).toBe((await freshBuild("store-d")).manifest);
    expect(plain.imageId).not.toBe(clamped.imageId);
  }, 60_000);
});
