#!/usr/bin/env node
// Loads the one-file bundle (dist/bundle/, made by `npm run build`) when it is newer than every
// package's last compile, else the compiled modules (dist/main.js): a bundle left over from an older
// build is never run.
import { statSync } from "node:fs";

const packages = ["cli", "engine", "oci", "registry", "snapshot", "runtime", "dockerfile"];
function bundleIsCurrent() {
  const mtime = (p) => statSync(new URL(p, import.meta.url), { throwIfNoEntry: false })?.mtimeMs;
  const bundle = mtime("../dist/bundle/tsbuild.mjs");
  if (bundle === undefined) return false;
  return packages.every((p) => (mtime(`../../${p}/dist/.tsbuildinfo`) ?? Infinity) <= bundle);
}

const entry = bundleIsCurrent() ? "../dist/bundle/tsbuild.mjs" : "../dist/main.js";
if (process.env.TSBUILD_DEBUG) process.stderr.write(`tsbuild: running ${new URL(entry, import.meta.url).pathname}\n`);
const { main } = await import(entry);
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tsbuild: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
