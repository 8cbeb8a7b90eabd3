/**
 * A WORKDIR whose directory the stage's root has (looked up in the layer directories without
 * mounting a snapshot, snapshot/src/lookup.ts) is the empty-layer step it was with a snapshot: the
 * same image id, history and files as a build that mounts for every WORKDIR (TSBUILD_SYS_HELPER=off:
 * the overlay lookup needs tsbuild-sys for opaque xattrs, and says "unsure" without it). Directories hidden by an opaque directory or a whiteout, or reached
 * through a symlink, still go through the snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resetSysHelper, Store, type ImageConfig } from "@tsbuild/oci";
import { build } from "../src/index.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-workdir-lookup-"));
const ctx = join(work, "ctx");
let busybox: Buffer;
afterAll(() => {
  delete process.env.TSBUILD_SYS_HELPER;
  resetSysHelper();
  rmSync(work, { recursive: true, force: true });
});

beforeAll(() => {
  busybox = busyboxTar(makeBusyboxRootfs(join(work, "rootfs")));
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "Dockerfile"), [
    "FROM base:1",
    "RUN mkdir -p /a/b/c /x/y /opq/inner && ln -s /a /lnk && chown 65534 /a/b",
    "WORKDIR /a/b/c",
    "WORKDIR /lnk/b",
    "RUN rm -rf /opq /x/y && mkdir /opq",
    "WORKDIR /opq/inner",
    "WORKDIR /x/y",
    "WORKDIR /bin",
    "WORKDIR /",
    "USER nobody",
    "WORKDIR /tmp/new",
    "WORKDIR /a/b",
    "USER root",
    "RUN pwd > /pwd && ls -ldn /opq/inner /x/y /tmp/new /a/b | awk '{print $1, $3, $NF}' > /dirs",
  ].join("\n"));
}, 60_000);

async function buildIn(name: string, helper: boolean, snapshotter: "overlay" | "copy" = "overlay") {
  if (helper) delete process.env.TSBUILD_SYS_HELPER;
  else process.env.TSBUILD_SYS_HELPER = "off";
  resetSysHelper();
  const root = join(work, name);
  await storeBaseImage(root, "base:1", busybox);
  const r = await build({ context: ctx, root, snapshotter, sourceDateEpoch: 1_700_000_000, platform: { os: "linux", architecture: "amd64" } });
  const store = await Store.open(root);
  const config = JSON.parse((await store.content.readBytes(r.imageId)).toString("utf8")) as ImageConfig;
  return { imageId: r.imageId, config };
}

describe("WORKDIR of a directory that is there", () => {
  it("gives the image a build that mounts for every WORKDIR gives; the copy snapshotter's steps are the same", async () => {
    const mounted = await buildIn("mounted", false);
    const looked = await buildIn("looked-up", true);
    expect(looked.imageId).toBe(mounted.imageId);
    const historyOf = (c: ImageConfig) => c.history?.map((h) => `${h.created_by?.replace(/ # buildkit$/, "")}${h.empty_layer ? " (empty)" : ""}`);
    // the copy snapshotter's lookup walks its full trees: the same steps are empty
    expect(historyOf((await buildIn("copy", true, "copy")).config)).toEqual(historyOf(looked.config));
    expect(historyOf(looked.config)).toEqual([
      "RUN /bin/sh -c mkdir -p /a/b/c /x/y /opq/inner && ln -s /a /lnk && chown 65534 /a/b",
      "WORKDIR /a/b/c (empty)",
      "WORKDIR /lnk/b (empty)",
      "RUN /bin/sh -c rm -rf /opq /x/y && mkdir /opq",
      "WORKDIR /opq/inner",
      "WORKDIR /x/y",
      "WORKDIR /bin (empty)",
      "WORKDIR / (empty)",
      "USER nobody (empty)",
      "WORKDIR /tmp/new",
      "WORKDIR /a/b (empty)",
      "USER root (empty)",
      "RUN /bin/sh -c pwd > /pwd && ls -ldn /opq/inner /x/y /tmp/new /a/b | awk '{print $1, $3, $NF}' > /dirs",
    ]);
  }, 120_000);
});
