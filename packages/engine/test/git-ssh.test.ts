import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeGitFixtures, type GitFixtures } from "./helpers/git-servers.js";
import { fetchGitSource } from "../src/remote/git-fetch.js";
import { build, BuildError } from "../src/index.js";

// git over ssh through an agent: a real sshd on 127.0.0.1 (root, a temporary authorized_keys) and a
// real ssh-agent holding a generated key: the fetcher directly, and builds given the agent with --ssh
// (ADD and a named git context).
const sshdPresent = existsSync("/usr/sbin/sshd") && existsSync("/usr/bin/ssh-agent") && process.getuid?.() === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not come up`);
}

describe.skipIf(!sshdPresent)("git over ssh (sshd and ssh-agent on 127.0.0.1; skipped without openssh-server or root)", () => {
  let dir: string;
  let fx: GitFixtures;
  let sshd: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  let port: number;
  let sock: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsbuild-git-ssh-"));
    fx = makeGitFixtures(join(dir, "git"));
    const keygen = (f: string): void => { execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", f]); };
    keygen(join(dir, "hostkey"));
    keygen(join(dir, "userkey"));
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "userkey.pub")));
    port = await freePort();
    writeFileSync(join(dir, "sshd_config"), [
      `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${join(dir, "hostkey")}`, `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "PermitRootLogin prohibit-password",
      "UsePAM no", "StrictModes no", `PidFile ${join(dir, "sshd.pid")}`, "",
    ].join("\n"));
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", join(dir, "sshd_config")], { stdio: "ignore" });
    sock = join(dir, "agent.sock");
    agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    await waitFor(() => existsSync(sock), "ssh-agent");
    execFileSync("ssh-add", ["-q", join(dir, "userkey")], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: "ignore" });
    await waitFor(() => existsSync(join(dir, "sshd.pid")), "sshd");
  }, 60_000);

  afterAll(async () => {
    for (const p of [sshd, agent]) {
      if (p && p.exitCode === null) {
        const gone = new Promise((r) => p.once("exit", r));
        p.kill("SIGTERM");
        await gone;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("fetches ssh://root@127.0.0.1:PORT/…/repo.git (and its submodule, over the same ssh) with the agent's key", async () => {
    const dest = mkdtempSync(join(dir, "d-"));
    const scratch = mkdtempSync(join(dir, "s-"));
    const r = await fetchGitSource(`ssh://root@127.0.0.1:${port}${fx.base}/repo.git#other`, dest, { scratch, sshAuthSock: sock });
    expect(r.commit).toBe(fx.three);
    expect(readFileSync(join(dest, "o.txt"), "utf8")).toBe("other\n");
    expect(readFileSync(join(dest, "mods/sub/s.txt"), "utf8")).toBe("subfile\n");
    // the host key was taken on first use into the fetch's own known_hosts, as BuildKit trusts its key scan
    expect(readFileSync(join(scratch, "known_hosts"), "utf8")).toContain(`[127.0.0.1]:${port}`);
  }, 60_000);

  it("ADD of an ssh:// remote in a build reaches the server through --ssh default; a build without --ssh fails at the line", async () => {
    const ctx = mkdtempSync(join(dir, "ctx-"));
    const root = join(dir, "store");
    writeFileSync(join(ctx, "Dockerfile"), `FROM scratch\nADD ssh://root@127.0.0.1:${port}${fx.base}/repo.git#other /src\n`);
    const out = join(dir, "out-ssh");
    await build({ context: ctx, root, ssh: [{ id: "default", paths: [sock] }], outputs: [{ type: "local", dest: out }] });
    expect(readFileSync(join(out, "src/o.txt"), "utf8")).toBe("other\n");
    // a named context takes git@ and git:// (and http(s) .git) URLs but not ssh:// ones, as BuildKit 0.13's namedcontext.go
    writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nCOPY --from=repo o.txt /o\n");
    await expect(build({ context: ctx, root, ssh: [{ id: "default", paths: [sock] }], buildContexts: { repo: `ssh://root@127.0.0.1:${port}${fx.base}/repo.git#other` } }))
      .rejects.toThrow(/unsupported context source ssh/);
    writeFileSync(join(ctx, "Dockerfile"), `FROM scratch\nADD ssh://root@127.0.0.1:${port}${fx.base}/repo.git#main /src\n`);
    const err = await build({ context: ctx, root, outputs: [{ type: "local", dest: join(dir, "out-none") }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    expect((err as BuildError).message).toMatch(/needs an ssh agent/);
    expect((err as BuildError).position?.line).toBe(2);
  }, 120_000);

  it("fails without a key the server takes, and without an agent at all", async () => {
    const empty = join(dir, "empty.sock");
    const other = spawn("ssh-agent", ["-D", "-a", empty], { stdio: "ignore" });
    try {
      await waitFor(() => existsSync(empty), "ssh-agent");
      const scratch = mkdtempSync(join(dir, "s-"));
      await expect(fetchGitSource(`ssh://root@127.0.0.1:${port}${fx.base}/repo.git`, mkdtempSync(join(dir, "d-")), { scratch, sshAuthSock: empty }))
        .rejects.toThrow(/failed to fetch remote ssh:\/\/xxxxx@127\.0\.0\.1.*Permission denied/s);
      await expect(fetchGitSource(`ssh://root@127.0.0.1:${port}${fx.base}/repo.git`, mkdtempSync(join(dir, "d-")), { scratch }))
        .rejects.toThrow(/needs an ssh agent/);
    } finally {
      const gone = new Promise((r) => other.once("exit", r));
      other.kill("SIGTERM");
      await gone;
    }
  }, 60_000);
});
