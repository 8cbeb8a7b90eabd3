import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "./helpers/run-cli.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-store-"));
const root = join(work, "store");
const bin = fileURLToPath(new URL("../bin/tsbuild.js", import.meta.url));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (argv: string[], stdin?: Buffer) => runCli(argv, { ...(stdin ? { stdin } : {}), env: { TSBUILD_ROOT: root }, cwd: work });
const skopeo = (...args: string[]) => execFileSync("skopeo", ["--insecure-policy", ...args], { encoding: "utf8" });

let imageId = "";
let busybox: Buffer;
beforeAll(async () => {
  busybox = busyboxTar(makeBusyboxRootfs(join(work, "rootfs")));
  const r = await run(["import", "-", "busybox:test", "-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "-c", 'CMD ["sh"]'], busybox);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  imageId = r.out.trim();
});

describe("import, images, inspect, history, tag, rmi", () => {
  it("import made a one-layer image with the -c changes", async () => {
    expect(imageId).toMatch(/^sha256:[a-f0-9]{64}$/);
    const r = await run(["inspect", "busybox:test"]);
    const [info] = JSON.parse(r.out);
    expect(info.Id).toBe(imageId);
    expect(info.Config.config).toEqual({ Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] });
    expect(info.Manifest.layers).toHaveLength(1);
    expect(info.Config.history[0].comment).toBe("Imported from -");
  });
  it("images and history list it", async () => {
    const images = await run(["images"]);
    expect(images.out).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\n/);
    expect(images.out).toContain(`busybox      test   ${imageId.slice(7, 19)}`);
    const history = await run(["history", "busybox:test"]);
    expect(history.out.split("\n")[1]).toMatch(new RegExp(`^${imageId.slice(7, 19)}\\s+.*Imported from -$`));
  });
  it("tag adds a name, rmi removes it, unknown images fail clearly", async () => {
    expect((await run(["tag", "busybox:test", "localhost:5000/bb:2"])).code).toBe(0);
    expect((await run(["inspect", imageId.slice(7, 19)])).code).toBe(0);
    expect((await run(["rmi", "localhost:5000/bb:2"])).out).toBe("Untagged: localhost:5000/bb:2\n");
    const missing = await run(["inspect", "nope:1"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/image nope:1 is not in the store/);
  });
});

describe("archives interoperate with skopeo and umoci", () => {
  it("save --format oci: umoci unpacks the layout tsbuild wrote; skopeo inspects and copies it", async () => {
    const file = join(work, "bb.oci.tar");
    expect((await run(["save", "busybox:test", "-o", file, "--format", "oci"])).code).toBe(0);
    // the layout exactly as tsbuild wrote it, its tag from org.opencontainers.image.ref.name
    const ours = join(work, "layout-tsbuild");
    mkdirSync(ours);
    execFileSync("tar", ["-C", ours, "-xf", file]);
    const ourBundle = join(work, "bundle-tsbuild");
    execFileSync("umoci", ["unpack", "--image", `${ours}:test`, ourBundle]);
    expect(existsSync(join(ourBundle, "rootfs/bin/busybox"))).toBe(true);
    expect(statSync(join(ourBundle, "rootfs/tmp")).mode & 0o7777).toBe(0o1777);
    // umoci made the runtime config from the image config tsbuild wrote
    const spec = JSON.parse(readFileSync(join(ourBundle, "config.json"), "utf8")) as { process: { args: string[]; env: string[] } };
    expect(spec.process.args).toEqual(["sh"]);
    expect(spec.process.env).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    const info = JSON.parse(skopeo("inspect", `oci-archive:${file}`));
    expect(info.Layers).toHaveLength(1);
    expect(JSON.parse(skopeo("inspect", "--config", `oci-archive:${file}`)).config.Cmd).toEqual(["sh"]);
    const layout = join(work, "layout");
    skopeo("copy", `oci-archive:${file}`, `oci:${layout}:test`);
    const bundle = join(work, "bundle");
    execFileSync("umoci", ["unpack", "--image", `${layout}:test`, bundle]);
    expect(existsSync(join(bundle, "rootfs/bin/busybox"))).toBe(true);
    expect(statSync(join(bundle, "rootfs/tmp")).mode & 0o7777).toBe(0o1777);
  });
  it("save --format docker: skopeo reads it as a docker-archive", async () => {
    const file = join(work, "bb.docker.tar");
    expect((await run(["save", "busybox:test", "-o", file])).code).toBe(0);
    const info = JSON.parse(skopeo("inspect", `docker-archive:${file}`));
    expect(info.Layers).toHaveLength(1);
    expect(JSON.parse(skopeo("inspect", "--raw", "--config", `docker-archive:${file}`)).rootfs.diff_ids).toHaveLength(1);
    const copied = join(work, "from-docker-archive");
    skopeo("copy", `docker-archive:${file}`, `oci:${copied}:x`);
    execFileSync("umoci", ["unpack", "--image", `${copied}:x`, join(work, "bundle2")]);
    expect(existsSync(join(work, "bundle2/rootfs/bin/sh"))).toBe(true);
  });
  it("archives written by skopeo copy load with tsbuild load", async () => {
    const src = join(work, "bb.src.tar");
    await run(["save", "busybox:test", "-o", src, "--format", "oci"]);
    const ociOut = join(work, "from-skopeo.oci.tar");
    const dockerOut = join(work, "from-skopeo.docker.tar");
    skopeo("copy", `oci-archive:${src}`, `oci-archive:${ociOut}:localhost/copied:oci`);
    skopeo("copy", `oci-archive:${src}`, `docker-archive:${dockerOut}:localhost/copied:docker`);
    const a = await run(["load", "-i", ociOut]);
    const b = await run(["load", "-i", dockerOut]);
    expect(a).toEqual({ code: 0, out: "Loaded image: localhost/copied:oci\n", err: "" });
    expect(b).toEqual({ code: 0, out: "Loaded image: localhost/copied:docker\n", err: "" });
    for (const name of ["localhost/copied:oci", "localhost/copied:docker"]) {
      const [info] = JSON.parse((await run(["inspect", name])).out);
      expect(info.Name).toBe(name);
      expect(info.Id).toBe(imageId); // skopeo recompressed the layer, the config (the id) is unchanged
    }
    const images = (await run(["images"])).out;
    expect(images).toMatch(new RegExp(`^localhost/copied\\s+oci\\s+${imageId.slice(7, 19)}\\s`, "m"));
  });
});

describe("du, and --root instead of TSBUILD_ROOT", () => {
  const other = join(work, "other-store");
  // TSBUILD_ROOT names the main store; --root must win over it
  const runOther = (argv: string[], stdin?: Buffer) => run([...argv, "--root", other], stdin);
  interface Du { images: number; blobs: number; size: string; reclaimable: string; store: string }
  async function du(): Promise<Du> {
    const r = await runOther(["du"]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TYPE\s+COUNT\s+SIZE\s+RECLAIMABLE$/);
    const row = (type: string) => (lines.find((l) => l.startsWith(`${type} `)) ?? "").slice(type.length).trim().split(/\s+/);
    const [imageCount] = row("Images");
    const [blobCount, size, reclaimable] = row("Blobs");
    return { images: Number(imageCount), blobs: Number(blobCount), size: size as string, reclaimable: reclaimable as string, store: lines.at(-1) as string };
  }
  it("counts images and blobs as they are added and removed", async () => {
    expect(await du()).toEqual({ images: 0, blobs: 0, size: "0B", reclaimable: "0B", store: `store: ${other}` });
    const imported = await runOther(["import", "-", "small:1", "-c", 'CMD ["sh"]'], busybox);
    expect(imported.code).toBe(0);
    const one = await du();
    // layer, config and manifest; all needed by small:1
    expect(one).toMatchObject({ images: 1, blobs: 3, reclaimable: "0B" });
    expect(one.size).toMatch(/^\d+(\.\d+)?MB$/);
    expect((await runOther(["tag", "small:1", "small:2"])).code).toBe(0);
    expect(await du()).toEqual({ ...one, images: 2 });
    // another image with its own config and manifest shares the layer
    expect((await runOther(["import", "-", "small:3", "-c", 'CMD ["true"]'], busybox)).code).toBe(0);
    const three = await du();
    expect(three).toMatchObject({ images: 3, blobs: 5, reclaimable: "0B" });
    expect((await runOther(["rmi", "small:3"])).code).toBe(0);
    const reclaimable = await du();
    expect(reclaimable).toMatchObject({ images: 2, blobs: 5, size: three.size });
    expect(reclaimable.reclaimable).toMatch(/^\d+B$/); // only small:3's config and manifest
    expect((await runOther(["rmi", "small:1", "small:2"])).code).toBe(0);
    expect(await du()).toEqual({ ...three, images: 0, reclaimable: three.size });
  });
  it("--root leaves the TSBUILD_ROOT store alone", async () => {
    const main = (await run(["images"])).out;
    expect(main).toContain("busybox");
    expect(main).not.toContain("small");
    expect((await runOther(["images"])).out).toBe("REPOSITORY   TAG   IMAGE ID   CREATED   SIZE\n");
    expect((await run(["du"])).out).toContain(`store: ${root}\n`);
  });
});

describe("store check and a killed write", () => {
  it("a kill -9 during a blob write leaves nothing that store check accepts wrongly", async () => {
    const child = spawn(process.execPath, [bin, "import", "-", "half:1"], { env: { ...process.env, TSBUILD_ROOT: root }, stdio: ["pipe", "ignore", "ignore"] });
    child.stdin.on("error", () => undefined); // EPIPE once it is killed
    // the first 8 MiB of a tar of one 16 MiB file: a whole tar is only refused at its end
    writeFileSync(join(work, "big.bin"), Buffer.alloc(16 << 20, 1));
    const tarball = execFileSync("tar", ["-c", "-C", work, "big.bin"], { maxBuffer: 32 << 20 });
    for (let i = 0; i < 8; i++) {
      child.stdin.write(tarball.subarray(i << 20, (i + 1) << 20));
      await new Promise((r) => setTimeout(r, 30));
    }
    // wait until the half-written blob is on disk, then kill
    for (let i = 0; i < 100 && readdirSync(join(root, "blobs/ingest")).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(readdirSync(join(root, "blobs/ingest")).length).toBeGreaterThan(0);
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    const check = await run(["store", "check"]);
    expect(check.code).toBe(0);
    expect(check.out).toMatch(/0 corrupt, 0 missing/);
    expect((await run(["inspect", "half:1"])).code).toBe(1);
    // a blob file with wrong content is caught and repaired
    const blobs = readdirSync(join(root, "blobs/sha256"));
    writeFileSync(join(root, "blobs/sha256", blobs[0]!), "garbage");
    expect((await run(["store", "check"])).code).toBe(1);
    expect((await run(["store", "check", "--repair"])).code).toBe(0);
    expect(readdirSync(join(root, "blobs/ingest"))).toEqual([]);
    expect((await run(["store", "check"])).code).toBe(0);
  });
});
