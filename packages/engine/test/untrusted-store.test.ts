import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { DigestingStream, MediaTypes, resolveImage, sha256Digest, Store, writeImage } from "@tsbuild/oci";
import { LayerDiffIdMismatchError, listCommitted } from "@tsbuild/snapshot";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { build } from "../src/index.js";
import { mountsUnder, putBusyboxBase } from "./helpers/store-fixtures.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-untrusted-store-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each([["overlay"], ["copy"]] as const)("a store that lost a layer blob (%s)", (snapshotter) => {
  it("FROM fails with a typed error that says what to do; node does not crash; no snapshot is left", async () => {
    const dir = join(work, snapshotter);
    const root = join(dir, "store");
    const store = await putBusyboxBase(root, dir);
    const rec = await store.images.get("base:1");
    const img = await resolveImage(store.content, rec!.target, { os: "linux", architecture: "amd64" });
    const layer = img.manifest.layers[0]!.digest;
    await store.content.delete(layer);
    const ctx = join(dir, "ctx");
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "Dockerfile"), "FROM base:1\nRUN true\n");
    const err = await build({ context: ctx, root, snapshotter, platform: { os: "linux", architecture: "amd64" } }).then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain(`layer ${layer} of image`);
    expect(err!.message).toMatch(/missing from the store; pull or load the image again/);
    expect(mountsUnder(root)).toEqual([]);
  }, 60_000);

  it("an image whose config names another diff id is refused before any snapshot is committed", async () => {
    const dir = join(work, `diffid-${snapshotter}`);
    const root = join(dir, "store");
    const store = await Store.open(root);
    const blob = await store.content.ingest(Readable.from([busyboxTar(makeBusyboxRootfs(join(dir, "rootfs")))]).pipe(new DigestingStream()));
    const img = await writeImage(store.content, { architecture: "amd64", os: "linux", config: { Cmd: ["sh"] } },
      [{ descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest: blob.digest, size: blob.size }, diffId: sha256Digest("not this layer") }]);
    await store.images.put("liar:1", img.manifest);
    const ctx = join(dir, "ctx");
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "Dockerfile"), "FROM liar:1\nRUN true\n");
    const err = await build({ context: ctx, root, snapshotter, platform: { os: "linux", architecture: "amd64" } }).then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(LayerDiffIdMismatchError);
    expect(err!.message).toContain(`layer ${blob.digest} of image docker.io/library/liar:1 has diff id ${blob.digest}`);
    expect(await listCommitted(join(root, "snapshots"))).toEqual([]);
    expect(mountsUnder(root)).toEqual([]);
  }, 60_000);
});
