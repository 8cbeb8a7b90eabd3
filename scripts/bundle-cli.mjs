#!/usr/bin/env node
// Bundles the compiled CLI (packages/*/dist, made by `tsc -b`) into one CommonJS file,
// packages/cli/dist/bundle/tsbuild.cjs, which bin/tsbuild.js runs while it is up to date. One file
// instead of ~170 ES modules saves ~0.1 s of module resolution and loading on every command, and as
// CommonJS it can be compiled through vm.Script with V8's code cache (bin/code-cache.js), which Node 20
// offers for no ES module. Lazy imports stay lazy: esbuild turns each `import()` into an init function
// run on first use, so the registry client and undici (its HTTP client, ~0.8 MB, left outside the
// bundle) load only for commands that talk to a registry; so do Node's own modules a command may not
// need (lazy-builtins.mjs).
import { build } from "esbuild";
import { lazyBuiltins } from "./lazy-builtins.mjs";
import { copyFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildNative, helperBinary } from "./build-native.mjs";

const cli = fileURLToPath(new URL("../packages/cli/", import.meta.url));
rmSync(`${cli}dist/bundle`, { recursive: true, force: true }); // no file (or code cache) of an older build left behind
await build({
  entryPoints: [`${cli}dist/main.js`],
  outfile: `${cli}dist/bundle/tsbuild.cjs`,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["undici"],
  plugins: [lazyBuiltins()],
  // import() of a Node module becomes require(): a vm.Script has no loader for import()
  supported: { "dynamic-import": false },
  // oci/src/sys-helper.ts finds its binary beside the bundle (__dirname) instead
  define: { "import.meta.url": "undefined" },
  logLevel: "warning",
});
// tsbuild-sys beside the bundle (oci/src/sys-helper.ts looks there first)
if (buildNative()) copyFileSync(helperBinary, `${cli}dist/bundle/tsbuild-sys`);
