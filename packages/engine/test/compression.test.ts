/**
 * --compression: the store keeps layers uncompressed; an OCI output (and a push) carries them
 * gzip (the default), zstd or uncompressed, under the same image id; a compressed copy is made
 * once and reused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MediaTypes, parseManifest, readArchive, Store, type LayerCompression } from "@tsbuild/oci";
import { build } from "../src/index.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-compression-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  await storeBusyboxBase(root, "base:1", work);
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Dockerfile"), "FROM base:1\nRUN echo hello > /hello\n");
}, 60_000);

async function exported(compression: LayerCompression | undefined): Promise<{ id: string; layers: string[] }> {
  const dest = join(work, `out-${compression}.tar`);
  const r = await build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" }, outputs: [{ type: "oci", dest, tar: true }], ...(compression ? { compression } : {}) });
  const check = await Store.open(join(work, `check-${compression}`));
  const [img] = await readArchive(check.content, dest);
  const m = parseManifest(await check.content.readBytes(img!.target.digest));
  return { id: r.imageId, layers: m.layers.map((l) => l.mediaType) };
}

describe("--compression", () => {
  it("gzip by default, zstd or uncompressed on request, the same image id", async () => {
    const gz = await exported(undefined);
    expect(gz.layers).toEqual([MediaTypes.OCI_LAYER_GZIP, MediaTypes.OCI_LAYER_GZIP]);
    const zst = await exported("zstd");
    expect(zst.layers).toEqual([MediaTypes.OCI_LAYER_ZSTD, MediaTypes.OCI_LAYER_ZSTD]);
    const none = await exported("none");
    expect(none.layers).toEqual([MediaTypes.OCI_LAYER_TAR, MediaTypes.OCI_LAYER_TAR]);
    expect(new Set([gz.id, zst.id, none.id]).size).toBe(1);
  });
  it("the compressed copy of a layer is made once", async () => {
    const memo = join(root, "cache", "compressed", "gzip");
    const before = readdirSync(memo).length;
    await exported("gzip");
    expect(readdirSync(memo).length).toBe(before);
    expect(before).toBe(2);
  });
});
