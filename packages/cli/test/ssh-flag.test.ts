/**
 * `tsbuild build --ssh default|ID[=SOCKET_OR_KEY_FILE[,…]]` (buildx's flag): `default` alone is this
 * command's SSH_AUTH_SOCK, refused with buildx's words when unset; a key buildx refuses fails before
 * any step. A build killed with SIGKILL while its key-file agent runs leaves no agent behind (it
 * follows tsbuild within ten seconds), and the next build sweeps its directory.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mountPointsUnder } from "@tsbuild/snapshot";
import { runCli } from "./helpers/run-cli.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-ssh-"));
const root = join(work, "store");
const bin = fileURLToPath(new URL("../bin/tsbuild.js", import.meta.url));
const agentSock = join(work, "agent.sock");
const keyFile = join(work, "id");
let agent: ChildProcess | undefined;
let killed: ChildProcess | undefined;

/** processes whose command line names an ssh agent directory of the process `pid` (other test files build at the same time) */
const agents = (pid: number | undefined) => readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
  try {
    return readFileSync(`/proc/${p}/cmdline`, "utf8").includes(`${tmpdir()}/tsbuild-ssh-${pid}.`);
  } catch {
    return false;
  }
});
const sshDirs = (pid: number | undefined) => readdirSync(tmpdir()).filter((n) => n.startsWith(`tsbuild-ssh-${pid}.`));

beforeAll(async () => {
  await storeBaseImage(root, "base:1", busyboxTar(makeBusyboxRootfs(join(work, "rootfs"))));
  mkdirSync(join(work, "ctx"));
  writeFileSync(join(work, "ctx", "Dockerfile"), "FROM base:1\nRUN --mount=type=ssh,required (test -S \"$SSH_AUTH_SOCK\" && echo sock) > /o\n");
  mkdirSync(join(work, "slow"));
  writeFileSync(join(work, "slow", "Dockerfile"), "FROM base:1\nRUN --mount=type=ssh touch /tmp/started; sleep 30\n");
  expect(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]).status).toBe(0);
  expect(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "pw", "-f", join(work, "enc")]).status).toBe(0);
  agent = spawn("ssh-agent", ["-D", "-a", agentSock], { stdio: "ignore" });
  for (let i = 0; i < 100 && !existsSync(agentSock); i++) await new Promise((r) => setTimeout(r, 20));
}, 60_000);

afterAll(() => {
  agent?.kill("SIGTERM");
  killed?.kill("SIGKILL");
  if (existsSync(join(root, "runc"))) {
    for (const id of readdirSync(join(root, "runc"))) spawnSync("runc", ["--root", join(root, "runc"), "delete", "--force", id]);
  }
  // a killed build's mounts, when the test failed before the next build swept them
  for (const m of mountPointsUnder(work)) spawnSync("umount", ["-l", m]);
  rmSync(work, { recursive: true, force: true });
});

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(["build", "--root", root, "--platform", "linux/amd64", "--progress", "plain", ...argv], { cwd: work, env });

describe("tsbuild build --ssh", () => {
  it("default is SSH_AUTH_SOCK; unset, refused as buildx refuses it; a passphrase key is refused before any step", async () => {
    const out = join(work, "out");
    const ok = await run(["--ssh", "default", "-o", `type=local,dest=${out}`, "ctx"], { SSH_AUTH_SOCK: agentSock });
    expect(ok.err).not.toContain("ERROR");
    expect(ok.code).toBe(0);
    expect(readFileSync(join(out, "o"), "utf8")).toBe("sock\n");
    const unset = await run(["--ssh", "default", "ctx"]);
    expect(unset.code).toBe(1);
    expect(unset.err).toContain("invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set");
    const enc = await run(["--ssh", `default=${join(work, "enc")}`, "ctx"]);
    expect(enc.code).toBe(1);
    expect(enc.err).toContain(`failed to parse ${join(work, "enc")}: ssh: this private key is passphrase protected`);
    expect(enc.err).not.toContain("#1"); // no step ran
    const none = await run(["ctx"]);
    expect(none.code).toBe(1);
    expect(none.err).toContain("unset ssh forward key default");
  });

  it("a build killed with SIGKILL leaves no agent running; the next build sweeps the agent's directory", async () => {
    killed = spawn(process.execPath, [bin, "build", "--root", root, "--platform", "linux/amd64", "--progress", "plain", "--ssh", `default=${keyFile}`, "slow"], { cwd: work, stdio: "ignore" });
    // wait for the RUN (its agent started before any step)
    const started = Date.now();
    const pid = killed.pid;
    while (agents(pid).length === 0 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 100));
    expect(agents(pid).length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1500));
    killed.kill("SIGKILL");
    await new Promise((r) => killed?.once("close", r));
    const t = Date.now();
    while (agents(pid).length && Date.now() - t < 15_000) await new Promise((r) => setTimeout(r, 200));
    expect(agents(pid)).toEqual([]);
    // its directory is left (0 here when another build on this machine — a parallel test file — swept it first)
    expect(sshDirs(pid).length).toBeLessThanOrEqual(1);
    // the next build (any) sweeps the dead build's container, mounts and ssh directory
    const out = join(work, "out2");
    const next = await run(["--ssh", "default", "-o", `type=local,dest=${out}`, "ctx"], { SSH_AUTH_SOCK: agentSock });
    expect(next.code).toBe(0);
    expect(sshDirs(pid)).toEqual([]);
  }, 60_000);
});
