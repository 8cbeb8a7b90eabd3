import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, statSync } from "node:fs";
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
beforeAll(async () => {
  const rootfs = makeBusyboxRootfs(join(work, "rootfs"));
  const r = await run(["import", "-", "busybox:test", "-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "-c", 'CMD ["sh"]'], busyboxTar(rootfs));
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
  it("save --format oci: skopeo inspects and copies it, umoci unpacks it", async () => {
    const file = join(work, "bb.oci.tar");
    expect((await run(["save", "busybox:test", "-o", file, "--format", "oci"])).code).toBe(0);
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
    expect(b.out).toBe("Loaded image: localhost/copied:docker\n");
    expect(a.code).toBe(0);
    const ids = await Promise.all(["localhost/copied:docker"].map(async (n) => JSON.parse((await run(["inspect", n])).out)[0].Id));
    expect(ids[0]).toBe(imageId);
  });
});

describe("store check and a killed write", () => {
  it("a kill -9 during a blob write leaves nothing that store check accepts wrongly", async () => {
    const child = spawn(process.execPath, [bin, "import", "-", "half:1"], { env: { ...process.env, TSBUILD_ROOT: root }, stdio: ["pipe", "ignore", "ignore"] });
    child.stdin.on("error", () => undefined); // EPIPE once it is killed
    const chunk = Buffer.alloc(1 << 20, 1);
    for (let i = 0; i < 8; i++) {
      child.stdin.write(chunk);
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
