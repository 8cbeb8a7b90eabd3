#!/usr/bin/env node
import { main } from "../dist/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tsbuild: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 1;
  },
);
