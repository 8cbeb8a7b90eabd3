#!/usr/bin/env node
// Bundles the compiled CLI (packages/*/dist, made by `tsc -b`) into a few files under
// packages/cli/dist/bundle/ (tsbuild.mjs and the chunks it imports when needed), which
// bin/tsbuild.js loads when they are up to date. A few files instead of ~170 ES modules saves
// ~0.1 s of module resolution and loading on every command: a no-op rebuild is mostly start-up.
// Code splitting keeps the lazy imports lazy: the registry client and undici (its HTTP client,
// ~0.8 MB, left outside the bundle) load only for commands that talk to a registry.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../packages/cli/", import.meta.url));
rmSync(`${cli}dist/bundle`, { recursive: true, force: true }); // no chunks of an older build left behind
await build({
  entryPoints: { tsbuild: `${cli}dist/main.js` },
  outdir: `${cli}dist/bundle`,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["undici"],
  // bundled CommonJS (tar-stream and its dependencies) calls require() for Node's own modules
  banner: { js: 'import { createRequire as __tsbuildRequire } from "node:module"; const require = __tsbuildRequire(import.meta.url);' },
  logLevel: "warning",
});
