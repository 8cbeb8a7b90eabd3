import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";
import { startRegistry, type RegistryServer } from "../../registry/test/helpers/registry-server.js";

/**
 * tsbuild's own image (issue 19): the Dockerfile at the repository's root, built by tsbuild
 * (scripts/build-image.sh, on the Debian base scripts/make-debian-base.sh makes once under
 * fixtures/.cache), run by `tsbuild run` as its user tsbuild with Docker's default capabilities,
 * builds the demo rootless and pushes it to a loopback docker-registry with a registry cache; a
 * second container with an empty store and --cache-from hits every step and gives the same image.
 * The container is run with --security-opt systempaths=unconfined: with Docker's masked /proc
 * paths the kernel refuses the fresh procfs the rootless build mounts (see the skipped case).
 */
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(repo, "packages/cli/bin/tsbuild.js");
const IMAGE = "tsbuild:own-image-test";
const DOCKER_DEFAULT_CAPS = "00000000a80425fb"; // Docker's default set, as packages/runtime/src/spec.ts has it
const STORE_IN = "/home/tsbuild/.local/share/tsbuild";

const skip = process.getuid?.() !== 0 ? "it builds an image and runs it: run it as root" : undefined;
if (skip) console.warn(`skipping the own-image tests: ${skip}`);

const work = mkdtempSync(join(tmpdir(), "tsbuild-own-image-"));
const hostStore = join(work, "host-store");
let registry: RegistryServer | undefined;

const tsbuild = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", maxBuffer: 64 << 20, env: { ...process.env, TSBUILD_ROOT: hostStore } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
/** A directory owned by the image's user (uid 1000), for a volume it writes. */
function userDir(name: string): string {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  execFileSync("chown", ["1000:1000", d]);
  return d;
}
/** `tsbuild run` of the image with a store volume, the demo's context and an output directory. */
function inContainer(store: string, out: string, args: string[], extra: string[] = ["--security-opt", "systempaths=unconfined"]) {
  return tsbuild(["run", ...extra, "-v", `${store}:${STORE_IN}`, "-v", `${join(work, "demo")}:/workspace/demo:ro`, "-v", `${out}:/out`, IMAGE, ...args]);
}

beforeAll(async () => {
  if (skip) return;
  chmodSync(work, 0o755);
  const made = spawnSync("bash", [join(repo, "scripts/build-image.sh"), IMAGE, "--root", hostStore, "--progress=plain"], { encoding: "utf8", maxBuffer: 64 << 20 });
  expect(made.status, `scripts/build-image.sh: ${made.stderr}\n${made.stdout.slice(-3000)}`).toBe(0);
  registry = await startRegistry();
  // the demo's base, pushed to the registry the container pulls it from
  await storeBaseImage(hostStore, `${registry.host}/busybox:demo`, busyboxTar(makeBusyboxRootfs(join(work, "rootfs"))));
  const pushed = tsbuild(["push", `${registry.host}/busybox:demo`]);
  expect(pushed.code, pushed.err).toBe(0);
  cpSync(join(repo, "fixtures/demo"), join(work, "demo"), { recursive: true });
  execFileSync("chmod", ["-R", "a+rX", join(work, "demo")]);
}, 600_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skip)("tsbuild's own image", () => {
  it("runs as its user tsbuild (1000) with Docker's default capabilities, a subordinate range and tsbuild", () => {
    const out = userDir("out-id");
    const r = tsbuild(["run", "--entrypoint", "sh", IMAGE, "-c", "id; grep CapBnd /proc/self/status; grep NoNewPrivs /proc/self/status; cat /etc/subuid; tsbuild version; getcap /usr/bin/newuidmap"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("uid=1000(tsbuild) gid=1000(tsbuild)");
    expect(r.out).toContain(`CapBnd:\t${DOCKER_DEFAULT_CAPS}`);
    expect(r.out).toContain("NoNewPrivs:\t0");
    expect(r.out).toContain("tsbuild:100000:65536");
    expect(r.out).toMatch(/^tsbuild \d+\.\d+\.\d+$/m);
    expect(r.out).toContain("/usr/bin/newuidmap cap_setuid=ep");
    rmSync(out, { recursive: true, force: true });
  }, 60_000);

  it("builds the demo rootless and pushes it with a registry cache; a second container with an empty store hits every step", () => {
    const reg = (registry as RegistryServer).host;
    const flags = ["build", "--progress=plain", "--push", "-t", `${reg}/demo:1`, "--build-arg", `BASE=${reg}/busybox:demo`];
    const out1 = userDir("out-1");
    const first = inContainer(userDir("store-1"), out1, [...flags, "--cache-to", `type=registry,ref=${reg}/demo:cache,mode=max`, "--metadata-file", "/out/meta.json", "demo"]);
    expect(first.code, first.err).toBe(0);
    const meta1 = JSON.parse(readFileSync(join(out1, "meta.json"), "utf8")) as { "containerimage.digest"?: string; steps: { instruction: string; cached: boolean }[] };
    expect(meta1.steps.filter((s) => s.instruction.startsWith("RUN")).every((s) => !s.cached)).toBe(true);

    // the pushed image, pulled by the host's tsbuild (root), runs
    expect(tsbuild(["pull", `${reg}/demo:1`]).code).toBe(0);
    const ran = tsbuild(["run", `${reg}/demo:1`]);
    expect(ran.code, ran.err).toBe(0);
    expect(ran.out).toContain("tsbuild");

    const out2 = userDir("out-2");
    const second = inContainer(userDir("store-2"), out2, [...flags, "--cache-from", `type=registry,ref=${reg}/demo:cache`, "--metadata-file", "/out/meta.json", "demo"]);
    expect(second.code, second.err).toBe(0);
    const meta2 = JSON.parse(readFileSync(join(out2, "meta.json"), "utf8")) as typeof meta1;
    const fsSteps = meta2.steps.filter((s) => /^(RUN|COPY|ADD|WORKDIR)/.test(s.instruction));
    expect(fsSteps.length).toBeGreaterThanOrEqual(5);
    expect(fsSteps.filter((s) => !s.cached).map((s) => s.instruction)).toEqual([]);
    expect(second.err).not.toMatch(/^#\d+ DONE/m);
    expect(meta2["containerimage.digest"]).toBe(meta1["containerimage.digest"]);
  }, 300_000);

  // With Docker's masked and read-only /proc paths (tsbuild run's default, as docker run's) the kernel
  // refuses a fresh procfs in the nested user namespace (mount_too_revealing): RUN shares the pid
  // namespace and gets the container's /proc bound, as BuildKit's no-process-sandbox, and says so.
  it("builds with Docker's masked /proc paths too: no process sandbox, said in the progress", () => {
    const r = inContainer(userDir("store-masked"), userDir("out-masked"), ["build", "--progress=plain", "--build-arg", `BASE=${(registry as RegistryServer).host}/busybox:demo`, "demo"], []);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("no process sandbox");
  }, 120_000);
});
