/**
 * The store commands on a multi-platform image: `build --platform a,b` names an index, `images`
 * shows its platforms, `inspect` each platform's image, `run --platform` picks one (arm64 through
 * QEMU), push sends the index, pull --platform takes one platform back, save/load keep the index
 * (docker-archive in Docker 25+'s form: an OCI layout with a manifest.json of the host's image). Skipped, saying why, where QEMU or the arm64 busybox is missing (scripts/setup-emulation.sh).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MediaTypes, Store, type Descriptor } from "@tsbuild/oci";
import { platformRunnable } from "@tsbuild/runtime";
import { runCli } from "./helpers/run-cli.js";
import { startRegistry, type RegistryServer } from "../../registry/test/helpers/registry-server.js";
import { ARM64_BUSYBOX, busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";

const qemu = platformRunnable({ os: "linux", architecture: "arm64" });
const can = qemu.ok && existsSync(ARM64_BUSYBOX);
if (!can) console.warn(`multi-platform-commands.test skipped: ${qemu.ok ? `no arm64 busybox at ${ARM64_BUSYBOX}` : qemu.why}`);
// made only when the tests run (a skipped file runs no afterAll to remove it)
const work = can ? mkdtempSync(join(tmpdir(), "tsbuild-cli-multi-")) : join(tmpdir(), "tsbuild-cli-multi-skipped");
const root = join(work, "store");
const run = (argv: string[]) => runCli(argv, { env: { TSBUILD_ROOT: root }, cwd: work });

beforeAll(async () => {
  if (!can) return;
  await storeBaseImage(root, "bb-amd64:1", busyboxTar(makeBusyboxRootfs(join(work, "amd"))));
  await storeBaseImage(root, "bb-arm64:1", busyboxTar(makeBusyboxRootfs(join(work, "arm"), { busybox: ARM64_BUSYBOX })), undefined, "arm64");
  const store = await Store.open(root);
  const manifests: Descriptor[] = [];
  for (const [name, architecture] of [["bb-amd64:1", "amd64"], ["bb-arm64:1", "arm64"]]) {
    manifests.push({ ...(await store.images.get(name as string))!.target, platform: { os: "linux", architecture: architecture as string } });
  }
  const put = await store.content.putBytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests }));
  await store.images.put("bb:multi", { mediaType: MediaTypes.OCI_INDEX, digest: put.digest, size: put.size });
  mkdirSync(join(work, "ctx"));
  writeFileSync(join(work, "ctx", "Dockerfile"), "FROM bb:multi\nARG TARGETARCH\nRUN echo $TARGETARCH > /arch\nCMD [\"cat\", \"/arch\"]\n");
}, 120_000);
let registry: RegistryServer | undefined;
afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!can)("commands on a multi-platform image", () => {
  it("build names an index; images, inspect and run --platform see each platform", async () => {
    const b = await run(["build", "-q", "--platform", "linux/amd64,linux/arm64", "-t", "m:1", "ctx"]);
    expect(b.code, b.err).toBe(0);
    const images = await run(["images"]);
    expect(images.out).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s+PLATFORMS\n/);
    expect(images.out).toMatch(/\nm\s+1\s+[0-9a-f]{12}\s+.*linux\/amd64,linux\/arm64\n/);
    const [info] = JSON.parse((await run(["inspect", "m:1"])).out) as { Id: string; Platforms: { Platform: string; Id: string }[] }[];
    expect(info!.Id).toBe(b.out.trim());
    expect(info!.Platforms.map((p) => p.Platform)).toEqual(["linux/amd64", "linux/arm64"]);
    expect((await run(["run", "--platform", "linux/arm64", "m:1"])).out).toBe("arm64\n");
    expect((await run(["run", "--platform", "linux/arm64", "m:1", "uname", "-m"])).out).toBe("aarch64\n");
    expect((await run(["run", "m:1"])).out).toBe("amd64\n");
    const none = await run(["run", "--platform", "linux/s390x", "m:1"]);
    expect(none.code).toBe(1);
    expect(none.err).toContain("has no image for linux/s390x");
  }, 180_000);

  it("push sends the index (layers compressed); pull --platform takes each platform back", async () => {
    registry = await startRegistry();
    const ref = `${registry.host}/m:1`;
    const insecure = ["--insecure-registry", registry.host];
    const p = await run(["push", ...insecure, "m:1", ref]);
    expect(p.code, p.err).toBe(0);
    const index = await (await fetch(`http://${registry.host}/v2/m/manifests/1`, { headers: { accept: MediaTypes.OCI_INDEX } })).json() as { manifests: Descriptor[] };
    expect(index.manifests.map((m) => m.platform?.architecture)).toEqual(["amd64", "arm64"]);
    const child = await (await fetch(`http://${registry.host}/v2/m/manifests/${index.manifests[1]!.digest}`, { headers: { accept: MediaTypes.OCI_MANIFEST } })).json() as { layers: Descriptor[] };
    expect(child.layers.every((l) => l.mediaType === MediaTypes.OCI_LAYER_GZIP)).toBe(true);
    const other = join(work, "other");
    const pulled = await runCli(["pull", ...insecure, "--platform", "linux/arm64", ref], { env: { TSBUILD_ROOT: other }, cwd: work });
    expect(pulled.code, pulled.err).toBe(0);
    const ran = await runCli(["run", "--platform", "linux/arm64", ref, "uname", "-m"], { env: { TSBUILD_ROOT: other }, cwd: work });
    expect(ran.out).toBe("aarch64\n");
    expect((await runCli(["run", "--platform", "linux/arm64", ref], { env: { TSBUILD_ROOT: other }, cwd: work })).out).toBe("arm64\n");
    const amd = await runCli(["pull", ...insecure, "--platform", "linux/amd64", ref], { env: { TSBUILD_ROOT: other }, cwd: work });
    expect(amd.code, amd.err).toBe(0);
    expect((await runCli(["run", ref], { env: { TSBUILD_ROOT: other }, cwd: work })).out).toBe("amd64\n");
  }, 180_000);

  it("save writes the index as an OCI layout with the host's image in manifest.json; load brings back the whole index", async () => {
    const tar = join(work, "m.tar");
    const saved = await run(["save", "-o", tar, "m:1"]);
    expect(saved.code, saved.err).toBe(0);
    expect(saved.err).toMatch(/m:1 is a multi-platform image \(linux\/amd64, linux\/arm64\): .*loads its linux\/amd64 image/);
    const names = execFileSync("tar", ["-tf", tar]).toString().split("\n");
    expect(names).toEqual(expect.arrayContaining(["oci-layout", "index.json", "manifest.json"]));
    const manifestJson = JSON.parse(execFileSync("tar", ["-xOf", tar, "manifest.json"]).toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    const [info] = JSON.parse((await run(["inspect", "m:1"])).out) as { Platforms: { Platform: string; Id: string }[] }[];
    expect(manifestJson).toHaveLength(1);
    expect(manifestJson[0]!.RepoTags).toEqual(["m:1"]);
    expect(manifestJson[0]!.Config).toBe(`blobs/sha256/${info!.Platforms[0]!.Id.slice(7)}`);
    expect(manifestJson[0]!.Layers.every((l) => names.includes(l))).toBe(true);
    const other = join(work, "loaded");
    const loaded = await runCli(["load", "-i", tar], { env: { TSBUILD_ROOT: other }, cwd: work });
    expect(loaded.code, loaded.err).toBe(0);
    const [back] = JSON.parse((await runCli(["inspect", "m:1"], { env: { TSBUILD_ROOT: other }, cwd: work })).out) as { Platforms: { Platform: string; Id: string }[] }[];
    expect(back!.Platforms).toEqual(info!.Platforms);
    expect((await runCli(["run", "--platform", "linux/arm64", "m:1"], { env: { TSBUILD_ROOT: other }, cwd: work })).out).toBe("arm64\n");
  }, 180_000);
});
