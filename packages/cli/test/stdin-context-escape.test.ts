/**
 * A tar context on standard input with symlinks out of it (issue 13, item 4): once unpacked, its
 * links resolve inside the context like a directory context's, so globs, sources and .dockerignore
 * never reach the canary directory the links name, and no output of the build shows what it holds.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers/run-cli.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-stdin-escape-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("a tar context on stdin with links out of it", () => {
  it("resolves them inside the context; the canary is neither read nor listed nor changed", async () => {
    const canary = join(work, "canary");
    mkdirSync(canary);
    writeFileSync(join(canary, "HOSTONLY-listed"), "HOSTONLY-CONTENT\n");
    writeFileSync(join(canary, "HOSTONLY-ignore"), "visible.txt\n");
    const before = readdirSync(canary).map((n) => `${n} ${statSync(join(canary, n)).mtimeMs}`);
    const ctx = join(work, "ctx");
    const inRoot = join(ctx, canary.slice(1));
    mkdirSync(inRoot, { recursive: true });
    writeFileSync(join(inRoot, "decoy.txt"), "in the context\n");
    writeFileSync(join(ctx, "visible.txt"), "visible\n");
    symlinkSync(canary, join(ctx, "abs"));
    symlinkSync(`${"../".repeat(12)}${canary.slice(1)}`, join(ctx, "rel"));
    symlinkSync(join(canary, "HOSTONLY-ignore"), join(ctx, ".dockerignore"));
    writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nCOPY abs/* /a/\nCOPY rel /r/\nCOPY visible.txt /\n");
    const tar = execFileSync("tar", ["-cf", "-", "-C", ctx, "."]);
    const out = join(work, "out");
    const r = await runCli(["build", "--progress=plain", "-o", `type=local,dest=${out}`, "-"], {
      stdin: tar, env: { TSBUILD_ROOT: join(work, "store") }, cwd: work,
    });
    expect(r.err).not.toContain("HOSTONLY");
    expect(r.out).not.toContain("HOSTONLY");
    expect(r.code).toBe(0);
    expect(readdirSync(join(out, "a"))).toEqual(["decoy.txt"]);
    expect(readdirSync(join(out, "r"))).toEqual(["decoy.txt"]);
    expect(readFileSync(join(out, "visible.txt"), "utf8")).toBe("visible\n"); // the host file's pattern did not apply
    expect(readdirSync(canary).map((n) => `${n} ${statSync(join(canary, n)).mtimeMs}`)).toEqual(before);
    expect(readFileSync(join(canary, "HOSTONLY-listed"), "utf8")).toBe("HOSTONLY-CONTENT\n");
  }, 120_000);
});
