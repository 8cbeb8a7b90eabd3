import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// The one-file start-up path: `npm run build` / `npm test` bundle the CLI (scripts/bundle-cli.mjs)
// into dist/bundle/tsbuild.cjs, and bin/tsbuild.js runs it, with V8's code cache (bin/code-cache.js),
// while it is newer than every package's compile.
const cliDir = fileURLToPath(new URL("..", import.meta.url));
const bin = `${cliDir}bin/tsbuild.js`;
const bundle = `${cliDir}dist/bundle/tsbuild.cjs`;
const built = existsSync(bundle);
const demoDockerfile = fileURLToPath(new URL("../../../fixtures/demo/Dockerfile", import.meta.url));

const work = mkdtempSync(join(tmpdir(), "tsbuild-bundle-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Whether running MAIN(ARGV) from the bundle, in a fresh node, loaded undici. */
function loadsUndici(argv: string[]): boolean {
  const script = `const { main } = require(${JSON.stringify(bundle)});
main(${JSON.stringify(argv)}, { stdout: process.stdout, stderr: process.stdout, stdin: process.stdin, env: {}, cwd: process.cwd() })
  .then(() => process.stderr.write(String(Object.keys(require.cache).some((p) => p.includes("/undici/")))));`;
  return spawnSync("node", ["-e", script]).stderr.toString() === "true";
}

/**
 * A copy of the CLI's bin/ and bundle under DIR/packages/ (with every package's .tsbuildinfo older
 * than the bundle), so that its code cache is this test's own: other test files run the real one.
 */
function installCopy(dir: string): string {
  for (const p of ["cli", "engine", "oci", "registry", "snapshot", "runtime", "dockerfile"]) {
    mkdirSync(join(dir, "packages", p, "dist"), { recursive: true });
    writeFileSync(join(dir, "packages", p, "dist", ".tsbuildinfo"), "");
    utimesSync(join(dir, "packages", p, "dist", ".tsbuildinfo"), 0, 0);
  }
  mkdirSync(join(dir, "packages/cli/bin"));
  for (const f of readdirSync(`${cliDir}bin`)) copyFileSync(`${cliDir}bin/${f}`, join(dir, "packages/cli/bin", f));
  mkdirSync(join(dir, "packages/cli/dist/bundle"));
  copyFileSync(bundle, join(dir, "packages/cli/dist/bundle/tsbuild.cjs"));
  return join(dir, "packages/cli");
}

/** Runs the copy's bin with TSBUILD_DEBUG; its stdout, status and debug lines. */
function runCopy(cli: string, argv: string[], nodeFlags: string[] = []) {
  const r = spawnSync("node", [...nodeFlags, join(cli, "bin/tsbuild.js"), ...argv], { env: { ...process.env, TSBUILD_DEBUG: "1" } });
  const debug = r.stderr.toString().split("\n").filter((l) => l.startsWith("tsbuild: ") && !l.startsWith("tsbuild: internal"));
  return { out: r.stdout.toString(), status: r.status, debug: debug.join("\n") };
}

describe.skipIf(!built)("the bundled CLI (dist/bundle)", () => {
  it("parses a Dockerfile like the compiled modules do", () => {
    const viaBundle = execFileSync("node", ["-e", `require(${JSON.stringify(bundle)}).main(["parse", "-f", ${JSON.stringify(demoDockerfile)}])`]);
    const viaModules = execFileSync("node", ["-e", `import(${JSON.stringify(cliDir + "dist/main.js")}).then(m => m.main(["parse", "-f", ${JSON.stringify(demoDockerfile)}]))`]);
    expect(viaBundle.toString()).toEqual(viaModules.toString());
    expect(viaBundle.toString()).toContain("(from ");
  });

  it("loads the registry client (undici) only for commands that use it", () => {
    expect(readFileSync(bundle, "utf8")).not.toMatch(/\bimport\(/); // a vm.Script has no loader for import()
    expect(loadsUndici(["build", "--no-such-flag"])).toBe(false); // the whole build command is loaded
    expect(loadsUndici(["images", "--root", join(work, "no-store")])).toBe(false);
    expect(loadsUndici(["pull", "--no-such-flag"])).toBe(true);
  });

  it("is run by bin/tsbuild.js, unless a package was compiled after it (then dist/main.js is)", () => {
    const entry = () => {
      const r = spawnSync("node", [bin, "--help"], { env: { ...process.env, TSBUILD_DEBUG: "1" } });
      expect(r.status).toBe(0);
      expect(r.stdout.toString()).toContain("usage: tsbuild");
      return r.stderr.toString();
    };
    expect(entry()).toContain("dist/bundle/tsbuild.cjs");
    const info = `${cliDir}../engine/dist/.tsbuildinfo`;
    const was = statSync(info);
    try {
      utimesSync(info, was.atime, new Date(statSync(bundle).mtimeMs + 60_000));
      expect(entry()).toContain("dist/main.js");
    } finally {
      utimesSync(info, was.atime, was.mtime);
    }
  });
});

describe.skipIf(!built)("the bundle's V8 code cache (FILE.v8cache)", () => {
  const parse = ["parse", "-f", demoDockerfile];
  const parsed = execFileSync("node", ["-e", `require(${JSON.stringify(bundle)}).main(${JSON.stringify(parse)})`]).toString();

  it("is written by the first run and used by the next ones, which do not write it again", () => {
    const cli = installCopy(join(work, "first"));
    const first = runCopy(cli, parse);
    expect(first.out).toBe(parsed);
    expect(first.debug).toContain("(code cache absent)");
    expect(first.debug).toContain("wrote the code cache (partial)");
    const cache = join(cli, "dist/bundle/tsbuild.cjs.v8cache");
    const written = statSync(cache).mtimeMs;
    for (let i = 0; i < 2; i++) {
      const next = runCopy(cli, parse);
      expect(next.out).toBe(parsed);
      expect(next.debug).toContain("(code cache used)");
      expect(next.debug).not.toContain("wrote");
    }
    expect(statSync(cache).mtimeMs).toBe(written);
    expect(readdirSync(join(cli, "dist/bundle")).sort()).toEqual(["tsbuild.cjs", "tsbuild.cjs.v8cache"]); // no temp file left
  });

  it("made by a lighter command is replaced by a successful build's, which then stays", () => {
    const cli = installCopy(join(work, "grade"));
    // `tsbuild version` is a light command too: its cache must not pass for a build's
    expect(runCopy(cli, ["version"]).debug).toContain("wrote the code cache (partial)");
    const ctx = join(work, "grade-ctx");
    mkdirSync(ctx);
    writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nCOPY a.txt /\n");
    writeFileSync(join(ctx, "a.txt"), "a\n");
    const build = ["build", "--root", join(work, "grade-store"), "-q", ctx];
    expect(runCopy(cli, ["build", "--no-such-flag"]).debug).not.toContain("wrote"); // a failed build does not count
    const first = runCopy(cli, build);
    expect(first.status).toBe(0);
    expect(first.out).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(first.debug).toContain("(code cache used)");
    expect(first.debug).toContain("wrote the code cache (full)");
    const again = runCopy(cli, build);
    expect(again.out).toBe(first.out);
    expect(again.debug).not.toContain("wrote");
    expect(runCopy(cli, parse).debug).not.toContain("wrote");
  });

  it("of another build of the bundle, of other V8 flags, or garbage, is not used and is written again", () => {
    const cli = installCopy(join(work, "foreign"));
    const file = join(cli, "dist/bundle/tsbuild.cjs");
    runCopy(cli, parse);
    utimesSync(file, new Date(), new Date(statSync(file).mtimeMs + 1000)); // "another build": same bytes, other mtime
    const stale = runCopy(cli, parse);
    expect(stale.out).toBe(parsed);
    expect(stale.debug).toContain("(code cache stale)");
    expect(stale.debug).toContain("wrote the code cache");
    expect(runCopy(cli, parse).debug).toContain("(code cache used)");

    const otherFlags = runCopy(cli, parse, ["--no-opt"]);
    expect(otherFlags.out).toBe(parsed);
    expect(otherFlags.debug).toContain("(code cache rejected)");
    expect(runCopy(cli, parse, ["--no-opt"]).debug).toContain("(code cache used)");

    const cache = `${file}.v8cache`;
    const bytes = readFileSync(cache);
    const header = bytes.subarray(0, bytes.indexOf(10) + 1);
    writeFileSync(cache, Buffer.concat([header, Buffer.alloc(bytes.length - header.length, 0x5a)]));
    const garbage = runCopy(cli, parse, ["--no-opt"]);
    expect(garbage.out).toBe(parsed);
    expect(garbage.debug).toContain("(code cache rejected)");
  });

  it("that cannot be written (read-only install) costs nothing but time", () => {
    const cli = installCopy(join(work, "readonly"));
    const cache = join(cli, "dist/bundle/tsbuild.cjs.v8cache");
    mkdirSync(cache); // neither readable as a file nor replaceable by rename: like a directory we may not write (tests run as root)
    for (let i = 0; i < 2; i++) {
      const r = runCopy(cli, parse);
      expect(r.status).toBe(0);
      expect(r.out).toBe(parsed);
      expect(r.debug).toContain("(code cache absent)");
      expect(r.debug).not.toContain("wrote");
    }
    expect(readdirSync(join(cli, "dist/bundle")).sort()).toEqual(["tsbuild.cjs", "tsbuild.cjs.v8cache"]);
  });
});
