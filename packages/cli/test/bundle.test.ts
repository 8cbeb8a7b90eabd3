import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync, utimesSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The one-file start-up path: `npm run build` / `npm test` bundle the CLI (scripts/bundle-cli.mjs)
// into dist/bundle/, and bin/tsbuild.js runs it while it is newer than every package's compile.
const cliDir = fileURLToPath(new URL("..", import.meta.url));
const bin = `${cliDir}bin/tsbuild.js`;
const bundleDir = `${cliDir}dist/bundle/`;
const built = existsSync(`${bundleDir}tsbuild.mjs`);

/** The chunks a bundle file imports statically (loaded at start-up), transitively. */
function staticClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const m of readFileSync(bundleDir + file, "utf8").matchAll(/^(?:import|export)\s[^;]*?from\s+"\.\/([^"]+)"/gms)) staticClosure(m[1]!, seen);
  return seen;
}

describe.skipIf(!built)("the bundled CLI (dist/bundle)", () => {
  it("parses a Dockerfile like the compiled modules do", () => {
    const dockerfile = fileURLToPath(new URL("../../../fixtures/demo/Dockerfile", import.meta.url));
    const viaBundle = execFileSync("node", ["-e", `import(${JSON.stringify(bundleDir + "tsbuild.mjs")}).then(m => m.main(["parse", "-f", ${JSON.stringify(dockerfile)}]))`]);
    const viaModules = execFileSync("node", ["-e", `import(${JSON.stringify(cliDir + "dist/main.js")}).then(m => m.main(["parse", "-f", ${JSON.stringify(dockerfile)}]))`]);
    expect(viaBundle.toString()).toEqual(viaModules.toString());
    expect(viaBundle.toString()).toContain("(from ");
  });

  it("loads the registry client (undici) only for commands that use it", () => {
    const atStartup = [...staticClosure("tsbuild.mjs")];
    expect(atStartup.length).toBeGreaterThan(0);
    for (const f of atStartup) expect(readFileSync(bundleDir + f, "utf8")).not.toMatch(/from "undici"/);
    const build = readFileSync(`${bundleDir}tsbuild.mjs`, "utf8").match(/import\("\.\/(build-[^"]+)"\)/)?.[1];
    expect(build).toBeDefined();
    for (const f of staticClosure(build!)) expect(readFileSync(bundleDir + f, "utf8")).not.toMatch(/from "undici"/);
  });

  it("is run by bin/tsbuild.js, unless a package was compiled after it (then dist/main.js is)", () => {
    const entry = () => spawnSync("node", [bin, "--help"], { env: { ...process.env, TSBUILD_DEBUG: "1" } }).stderr.toString();
    expect(entry()).toContain("dist/bundle/tsbuild.mjs");
    const info = `${cliDir}../engine/dist/.tsbuildinfo`;
    const was = statSync(info);
    try {
      utimesSync(info, was.atime, new Date(statSync(`${bundleDir}tsbuild.mjs`).mtimeMs + 60_000));
      expect(entry()).toContain("dist/main.js");
    } finally {
      utimesSync(info, was.atime, was.mtime);
    }
  });
});
