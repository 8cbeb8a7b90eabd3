#!/usr/bin/env node
"use strict";
// Runs the one-file bundle (dist/bundle/tsbuild.cjs, made by `npm run build`) when it is newer than
// every package's last compile, else the compiled modules (dist/main.js): a bundle left over from an
// older build is never run. The bundle is compiled with V8's code cache (code-cache.js); a successful
// build leaves the fullest cache. This directory is CommonJS (bin/package.json): a CommonJS entry starts
// ~3 ms sooner than an ES module.
const { statSync } = require("node:fs");
const { join } = require("node:path");

const packages = ["cli", "engine", "oci", "registry", "snapshot", "runtime", "dockerfile"];
const mtime = (p) => statSync(join(__dirname, p), { throwIfNoEntry: false })?.mtimeMs;
function bundleIsCurrent() {
  const bundle = mtime("../dist/bundle/tsbuild.cjs");
  if (bundle === undefined) return false;
  return packages.every((p) => (mtime(`../../${p}/dist/.tsbuildinfo`) ?? Infinity) <= bundle);
}

const argv = process.argv.slice(2);
const debug = process.env.TSBUILD_DEBUG ? (line) => process.stderr.write(`tsbuild: ${line}\n`) : () => {};
function finish(exitCode) {
  exitCode.then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`tsbuild: internal error: ${err && err.stack ? err.stack : err}\n`);
      process.exitCode = 1;
    },
  );
  return exitCode;
}

if (bundleIsCurrent()) {
  const file = join(__dirname, "../dist/bundle/tsbuild.cjs");
  const bundle = require("./code-cache.js").runWithCodeCache(file);
  debug(`running ${file} (code cache ${bundle.cacheStatus})`);
  const { main, commandName } = bundle.exports;
  finish(main(argv)).then((code) => {
    const grade = code === 0 && commandName(argv) === "build" ? "full" : "partial";
    if (bundle.saveCache(grade)) debug(`wrote the code cache (${grade}) ${file}.v8cache`);
  }, () => {});
} else {
  const file = join(__dirname, "../dist/main.js");
  debug(`running ${file}`);
  finish(import(require("node:url").pathToFileURL(file).href).then(({ main }) => main(argv)));
}
