#!/usr/bin/env node
"use strict";
// tsbuild's command in its own image (the Dockerfile at the repository's root): the one-file bundle
// next to it, run with V8's code cache (kept where the directory is writable, else none).
const { join } = require("node:path");
const bundle = require("./code-cache.js").runWithCodeCache(join(__dirname, "tsbuild.bundle.cjs"));
const { main } = bundle.exports;
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tsbuild: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
