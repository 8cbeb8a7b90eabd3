/**
 * The socket a RUN's ssh mount gets (ssh-proxy.ts), against a real Debian ssh-agent: owner and mode
 * as asked, on a path longer than a socket address holds; read-only towards a user's agent as
 * BuildKit's readOnlyAgent (listing and signing pass — `ssh-keygen -Y sign` through it verifies —,
 * adding, removing and locking are refused and the agent keeps its key); without readOnly every
 * request passes; closed, the socket is gone and open connections end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSshProxy } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-sshproxy-"));
const key = join(work, "id");
const sock = join(work, "agent.sock");
let agent: ChildProcess | undefined;
// a directory deep enough that its socket's path is past the 107 bytes of sockaddr_un
const deep = join(work, "d".repeat(60), "e".repeat(60));

/** a command run without blocking the event loop (the proxy answers in this process) */
function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, input = ""): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { env: { PATH: process.env.PATH, ...env }, stdio: ["pipe", "pipe", "ignore"] });
    let stdout = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    c.stdin.on("error", () => {}); // a command that never reads its input may exit first (EPIPE)
    c.stdin.end(input);
    c.on("close", (status) => resolve({ status, stdout }));
  });
}
const sshAdd = (socket: string, ...args: string[]) => exec("ssh-add", args, { SSH_AUTH_SOCK: socket });

beforeAll(async () => {
  mkdirSync(deep, { recursive: true, mode: 0o700 });
  expect(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "proxy-test", "-f", key]).status).toBe(0);
  agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
  expect((await sshAdd(sock, "-q", key)).status).toBe(0);
});

afterAll(() => {
  agent?.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

describe("ssh proxy", () => {
  it("read-only: owner and mode as asked; lists and signs; adding, removing and locking refused", async () => {
    const proxy = await startSshProxy(deep, "0", sock, { uid: 12, gid: 34, mode: 0o640, readOnly: true });
    try {
      expect(proxy.path.length).toBeGreaterThan(107);
      const st = statSync(proxy.path);
      expect([st.isSocket(), st.mode & 0o777, st.uid, st.gid]).toEqual([true, 0o640, 12, 34]);
      // ssh's own clients connect by path: a short link to the deep socket
      const link = join(work, "p.sock");
      spawnSync("ln", ["-sf", proxy.path, link]);
      expect((await sshAdd(link, "-l")).stdout).toContain("proxy-test (ED25519)");
      writeFileSync(join(work, "msg"), "hello");
      const sign = await exec("ssh-keygen", ["-Y", "sign", "-f", `${key}.pub`, "-n", "file", join(work, "msg")], { SSH_AUTH_SOCK: link });
      expect(sign.status).toBe(0);
      writeFileSync(join(work, "allowed"), `proxy-test ${(spawnSync("cat", [`${key}.pub`]).stdout.toString())}`);
      const verify = spawnSync("ssh-keygen", ["-Y", "verify", "-f", join(work, "allowed"), "-I", "proxy-test", "-n", "file", "-s", join(work, "msg.sig")], { input: "hello" });
      expect(verify.status).toBe(0);
      expect((await sshAdd(link, "-D")).status).not.toBe(0);
      expect((await sshAdd(link, "-d", `${key}.pub`)).status).not.toBe(0);
      const other = join(work, "other");
      spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
      expect((await sshAdd(link, other)).status).not.toBe(0);
      expect((await sshAdd(link, "-x")).status).not.toBe(0); // lock (no passphrase on stdin: refused anyway; the agent stays unlocked)
      // the user's agent is as it was
      const list = (await sshAdd(sock, "-l")).stdout;
      expect(list).toContain("proxy-test");
      expect(list.trim().split("\n")).toHaveLength(1);
    } finally {
      await proxy.close();
    }
    expect(existsSync(proxy.path)).toBe(false);
  });

  it("writable (the build's own agent): every request passes", async () => {
    const own = join(work, "own.sock");
    const a = spawn("ssh-agent", ["-D", "-a", own], { stdio: "ignore" });
    try {
      for (let i = 0; i < 100 && !existsSync(own); i++) await new Promise((r) => setTimeout(r, 20));
      expect((await sshAdd(own, "-q", key)).status).toBe(0);
      const proxy = await startSshProxy(work, "w", own, { uid: 0, gid: 0, mode: 0o600, readOnly: false });
      try {
        const link = join(work, "w.sock");
        spawnSync("ln", ["-sf", proxy.path, link]);
        expect((await sshAdd(link, "-D")).status).toBe(0);
        expect((await sshAdd(own, "-l")).stdout).toContain("no identities");
      } finally {
        await proxy.close();
      }
    } finally {
      a.kill("SIGTERM");
    }
  });
});
