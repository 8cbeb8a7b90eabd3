import { describe, expect, it } from "vitest";
import { PassThrough } from "node:stream";
import { main } from "@tsbuild/cli";

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  return { io: { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() }, out: () => out, err: () => err };
}

describe("tsbuild command dispatch", () => {
  it("prints help and exits 0 with --help", async () => {
    const t = io();
    expect(await main(["--help"], t.io)).toBe(0);
    expect(t.out()).toContain("usage: tsbuild");
  });
  it("exits 2 on an unknown command", async () => {
    const t = io();
    expect(await main(["frobnicate", "x"], t.io)).toBe(2);
  });
});

describe("help and version, as docker's", () => {
  it("every command answers --help, -h and `tsbuild help COMMAND` with every option it parses, from the same definitions", async () => {
    const { commands } = await import("../src/commands/index.js");
    for (const [name, load] of Object.entries(commands)) {
      const c = await load();
      for (const argv of [[name, "--help"], [name, "-h"], ["help", name]]) {
        const t = io();
        expect(await main(argv, t.io), `${argv.join(" ")}`).toBe(0);
        expect(t.out()).toContain(`Usage:  ${c.usage}`);
        for (const o of c.options) {
          expect(o.help.length, `${name} --${o.name} has no help`).toBeGreaterThan(0);
          expect(t.out()).toMatch(new RegExp(`${o.short ? `-${o.short}, ` : "    "}--${o.name}\\b.*${o.help.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`, "s"));
        }
      }
    }
    const t = io();
    await main(["build", "--help"], t.io);
    expect(t.out()).toMatch(/--progress auto\|tty\|plain\|json\|quiet\s+how progress is shown \(default auto\)/);
  });

  it("the parser takes every flag the help lists (and --help lists every one it takes: the same definitions)", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const root = mkdtempSync(join(tmpdir(), "tsbuild-flags-"));
    try {
      const { commands } = await import("../src/commands/index.js");
      for (const [name, load] of Object.entries(commands)) {
        const c = await load();
        const withRoot = c.options.some((o) => o.name === "root") ? ["--root", root] : [];
        for (const o of c.options) {
          if (o.name === "root") continue;
          const t = io();
          await main([name, ...withRoot, `--${o.name}`, ...(o.value ? ["x"] : [])], t.io);
          expect(t.err(), `${name} --${o.name}`).not.toMatch(/unknown option/);
          if (o.short) {
            const s = io();
            await main([name, ...withRoot, `-${o.short}`, ...(o.value ? ["x"] : [])], s.io);
            expect(s.err(), `${name} -${o.short}`).not.toMatch(/unknown option/);
          }
        }
        const u = io();
        await main([name, "--no-such-flag"], u.io);
        expect(u.err(), name).toContain("unknown option --no-such-flag");
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  it("--version and version print tsbuild's version, Node's and the store", async () => {
    for (const argv of [["--version"], ["version"]]) {
      const t = io();
      expect(await main(argv, t.io)).toBe(0);
      expect(t.out()).toMatch(new RegExp(`^tsbuild \\d+\\.\\d+\\.\\d+\\nNode\\.js ${process.version.replace(/\./g, "\\.")}\\nstore format 1\\nstore /`));
    }
  });

  it("a mistyped command says so, with what was meant, instead of reading it as a context", async () => {
    const t = io();
    expect(await main(["biuld", "."], t.io)).toBe(2);
    expect(t.err()).toBe("tsbuild: 'biuld' is not a tsbuild command, nor a directory to build (did you mean 'tsbuild build'?); run 'tsbuild --help' for the commands\n");
    const h = io();
    expect(await main(["help", "nosuch"], h.io)).toBe(2);
    expect(h.err()).toContain("no command 'nosuch'");
  });
});

describe("tsbuild completion", () => {
  it("bash completes commands, a command's flags and build's flags for a context, from the option definitions", async () => {
    const { execFileSync } = await import("node:child_process");
    const t = io();
    expect(await main(["completion", "bash"], t.io)).toBe(0);
    const complete = (...words: string[]) =>
      execFileSync("bash", ["-c", `${t.out()}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _tsbuild; echo "\${COMPREPLY[@]}"`], { encoding: "utf8", cwd: "/" }).trim();
    expect(complete("tsbuild", "pu")).toBe("pull push");
    expect(complete("tsbuild", "pull", "--pl")).toBe("--platform");
    expect(complete("tsbuild", "-t", "x", "--no-c")).toBe("--no-cache --no-cache-filter");
    const z = io();
    expect(await main(["completion", "zsh"], z.io)).toBe(0);
    expect(z.out()).toContain("bashcompinit");
    expect(await main(["completion", "fish"], io().io)).toBe(2);
  });
});
