import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli } from "./helpers/run-cli.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-login-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const bin = fileURLToPath(new URL("../bin/tsbuild.js", import.meta.url));
const savedAuth = (dir: string, host: string) =>
  Buffer.from(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).auths[host].auth, "base64").toString();

/**
 * Runs `tsbuild ARGV` on a pseudo-terminal (util-linux `script`), typing each answer once its
 * prompt has appeared; returns everything the terminal showed and the exit code.
 */
function onTerminal(argv: string[], env: NodeJS.ProcessEnv, answers: [prompt: string, typed: string][]): Promise<{ code: number | null; screen: string }> {
  const cmd = [process.execPath, bin, ...argv].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = spawn("script", ["-qfec", cmd, "/dev/null"], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "inherit"] });
  let screen = "";
  let next = 0;
  let from = 0; // where on the screen the next prompt is looked for
  child.stdout.on("data", (d: Buffer) => {
    screen += d.toString();
    const a = answers[next];
    const at = a ? screen.indexOf(a[0], from) : -1;
    if (a && at >= 0) {
      next++;
      from = at + a[0].length;
      setTimeout(() => child.stdin.write(a[1]), 50);
    }
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, screen })));
}

describe("tsbuild login", () => {
  it("on a terminal without -u: asks for the user (shown) and the password (never echoed)", async () => {
    const dir = join(work, "tty");
    const r = await onTerminal(["login", "reg.example:5000"], { DOCKER_CONFIG: dir }, [["Username: ", "alice\n"], ["Password: ", "hunter2-secret\n"]]);
    expect(r.code).toBe(0);
    expect(r.screen).toContain("Username: alice");
    expect(r.screen).toContain(`Login stored for reg.example:5000 in ${join(dir, "config.json")}`);
    expect(r.screen).not.toContain("hunter2");
    expect(savedAuth(dir, "reg.example:5000")).toBe("alice:hunter2-secret");
  });
  it("on a terminal with -u: asks only for the password; backspace edits it", async () => {
    const dir = join(work, "tty-u");
    const r = await onTerminal(["login", "reg.example", "-u", "bob"], { DOCKER_CONFIG: dir }, [["Password: ", "pw-typx\u007fo\r"]]);
    expect(r.code).toBe(0);
    expect(r.screen).not.toContain("Username:");
    expect(savedAuth(dir, "reg.example")).toBe("bob:pw-typo");
  });
  it("Ctrl-C at the password prompt stores nothing", async () => {
    const dir = join(work, "tty-cancel");
    const r = await onTerminal(["login", "reg.example", "-u", "bob"], { DOCKER_CONFIG: dir }, [["Password: ", "abc\u0003"]]);
    expect(r.code).toBe(1);
    expect(r.screen).toContain("cancelled");
    expect(() => readFileSync(join(dir, "config.json"))).toThrow();
  });
  it("without a terminal: a usage error saying which flags to give", async () => {
    const env = { DOCKER_CONFIG: join(work, "no-tty") };
    const noUser = await runCli(["login", "reg.example"], { env, stdin: "alice\nsecret\n" });
    expect(noUser.code).toBe(2);
    expect(noUser.err).toContain("cannot ask for the user name: stdin is not a terminal; give -u USER and --password-stdin");
    const stdinNoUser = await runCli(["login", "reg.example", "--password-stdin"], { env, stdin: "secret\n" });
    expect(stdinNoUser.code).toBe(2);
    expect(stdinNoUser.err).toContain("--password-stdin needs -u USER");
    const noPassword = await runCli(["login", "reg.example", "-u", "alice"], { env });
    expect(noPassword.code).toBe(2);
    expect(noPassword.err).toContain("cannot ask for the password: stdin is not a terminal; give it with --password-stdin");
    const ok = await runCli(["login", "reg.example", "-u", "alice", "--password-stdin"], { env, stdin: "secret\n" });
    expect(ok.code).toBe(0);
    expect(savedAuth(join(work, "no-tty"), "reg.example")).toBe("alice:secret");
  });
});
