import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { runCli } from "./helpers/run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "tsbuild-parse-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (argv: string[], stdinText = "") => runCli(argv, { stdin: stdinText, env: { V: "from-env" }, cwd: dir });

describe("tsbuild parse", () => {
  it("prints BuildKit's dump format from -f FILE", async () => {
    writeFileSync(join(dir, "Dockerfile"), "FROM busybox\nCOPY --chown=1 a b\nENV A 1 B 2\n");
    const r = await run(["parse", "-f", "Dockerfile"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe('(from "busybox")\n(copy ["--chown=1"] "a" "b")\n(env "A" "1 B 2" "")\n');
  });
  it("reads stdin with -f -", async () => {
    const r = await run(["parse", "-f", "-"], "from a\nrun [\"x\"]\n");
    expect(r.out).toBe('(from "a")\n(run "x")\n');
  });
  it("prints the build graph as JSON with --target and --build-arg", async () => {
    const r = await run(["parse", "-f", "-", "--format", "json", "--target", "one", "--build-arg", "B=img", "--build-arg", "V"],
      "ARG B\nFROM $B AS one\nARG V\nFROM scratch\n");
    expect(r.code).toBe(0);
    const g = JSON.parse(r.out);
    expect(g.target).toBe(0);
    expect(g.reachable).toEqual([0]);
    expect(g.stages[0].base).toEqual({ kind: "image", ref: "img" });
    expect(g.buildArgs).toEqual({ B: "img", V: "from-env" });
  });
  it("exits 2 with the positioned message on a syntax error (dump) or a bad instruction (json)", async () => {
    const syntax = await run(["parse", "-f", "-"], "FROM a\nRUN <<EOF\nno end\n");
    expect(syntax.code).toBe(2);
    expect(syntax.err).toBe("Dockerfile:2:1: unterminated heredoc <<EOF (end it with a line holding only EOF)\n");
    const r = await run(["parse", "-f", "-", "--format", "json"], "FROM a\nFROB x\n");
    expect(r.code).toBe(2);
    expect(r.err).toBe("Dockerfile:2:1: unknown instruction: FROB (did you mean FROM?)\n");
  });
  it("exits 2 on a bad option", async () => {
    expect((await run(["parse", "--format", "yaml"])).code).toBe(2);
  });
});
