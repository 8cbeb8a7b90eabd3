import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { main } from "@tsbuild/cli";
import { runCli } from "./helpers/run-cli.js";
import { startRegistry, type RegistryServer } from "../../registry/test/helpers/registry-server.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-registry-"));
let registry: RegistryServer;
let authed: RegistryServer;
const env = { TSBUILD_ROOT: join(work, "store"), DOCKER_CONFIG: join(work, "docker") };

const run = (argv: string[], stdin = "", extraEnv: Record<string, string> = {}) => runCli(argv, { stdin, env: { ...env, ...extraEnv }, cwd: work });

beforeAll(async () => {
  [registry, authed] = await Promise.all([startRegistry(), startRegistry({ user: "u", password: "p" })]);
  const rootfs = makeBusyboxRootfs(join(work, "rootfs"));
  const stdout = new PassThrough();
  const input = new PassThrough();
  input.end(busyboxTar(rootfs));
  expect(await main(["import", "-", "busybox:cli"], { stdout, stderr: new PassThrough(), stdin: input, env, cwd: work })).toBe(0);
});
afterAll(async () => {
  await Promise.all([registry?.stop(), authed?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

describe("tsbuild push, pull, login", () => {
  it("pushes and pulls back", async () => {
    const p = await run(["push", "busybox:cli", `${registry.host}/bb:1`]);
    expect(p.err).toBe("");
    expect(p.out).toMatch(/2 uploaded, 0 mounted, 0 already there/);
    const again = await run(["push", "busybox:cli", `${registry.host}/bb:1`]);
    expect(again.out).toMatch(/0 uploaded, 0 mounted, 2 already there/);
    const other = { TSBUILD_ROOT: join(work, "store2") };
    const pulled = await run(["pull", `${registry.host}/bb:1`], "", other);
    expect(pulled.out).toMatch(/pulled 2 blobs/);
    expect((await run(["pull", `${registry.host}/bb:1`], "", other)).out).toMatch(/up to date/);
  });
  it("login stores credentials docker-style and push uses them", async () => {
    const denied = await run(["push", "busybox:cli", `${authed.host}/bb:1`]);
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(/run tsbuild login/);
    const l = await run(["login", authed.host, "-u", "u", "--password-stdin"], "p\n");
    expect(l.code).toBe(0);
    const cfg = JSON.parse(readFileSync(join(work, "docker/config.json"), "utf8"));
    expect(cfg.auths[authed.host].auth).toBe(Buffer.from("u:p").toString("base64"));
    expect(statSync(join(work, "docker/config.json")).mode & 0o777).toBe(0o600);
    expect((await run(["push", "busybox:cli", `${authed.host}/bb:1`])).code).toBe(0);
  });
});
