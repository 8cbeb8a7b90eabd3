#!/usr/bin/env node
// Diff cost on the overlay snapshotter: a step that changes one file on a 200 MB base, and a step
// that writes 200 MB in 5,000 files. "diff" = walking the upper dir into layer entries;
// "diff+tar" = also writing the uncompressed layer (to /dev/null) with its diff id.
// Run: npx tsc -b && node bench/snapshot-diff.mjs
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, createWriteStream, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { OverlaySnapshotter } from "../packages/snapshot/dist/index.js";
import { writeLayer } from "../packages/oci/dist/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-bench-diff-"));
const s = new OverlaySnapshotter(join(work, "o"));
const fill = (root, files, bytes, prefix) => {
  for (let i = 0; i < files; i++) {
    const d = join(root, `${prefix}${i % 40}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}`), randomBytes(Math.floor(bytes / files)));
  }
};
const time = async (label, fn) => {
  const t0 = process.hrtime.bigint();
  const n = await fn();
  console.log(`${label.padEnd(46)} ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1).padStart(8)} ms  (${n})`);
};
const countDiff = async (key) => { let n = 0; for await (const _ of s.diff(key)) n++; return `${n} entries`; };
const tarDiff = async (key) => { const r = await writeLayer(s.diff(key), createWriteStream("/dev/null")); return `${(r.size / 1e6).toFixed(1)} MB tar`; };
try {
  const b = await s.prepare("base-k");
  fill(b.root, 2000, 200e6, "base");
  await s.commit("base", "base-k");
  const one = await s.prepare("one", "base");
  appendFileSync(join(one.root, "base7/f7"), "changed");
  await time("one file changed on a 200 MB base: diff", () => countDiff("one"));
  await time("one file changed on a 200 MB base: diff+tar", () => tarDiff("one"));
  await s.remove("one");
  const big = await s.prepare("big", "base");
  fill(big.root, 5000, 200e6, "new");
  await time("200 MB in 5,000 new files: diff", () => countDiff("big"));
  await time("200 MB in 5,000 new files: diff+tar", () => tarDiff("big"));
  await s.remove("big");
} finally {
  rmSync(work, { recursive: true, force: true });
}
