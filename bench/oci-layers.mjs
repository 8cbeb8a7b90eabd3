#!/usr/bin/env node
// Layer throughput on a ~500 MB tree (5,000 files, mixed sizes, partly compressible):
// layer write (uncompressed), gzip with 1 worker vs all cores, zstd, and apply.
// Run: npx tsc -b packages/oci && node bench/oci-layers.mjs [MB]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, createWriteStream, createReadStream, statSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import { walkDirectory, writeLayer, applyLayerToNewDir, gzipParallel, zstdCompress } from "../packages/oci/dist/index.js";

const totalMB = Number(process.argv[2] ?? 500);
const work = mkdtempSync(join(tmpdir(), "tsbuild-bench-layers-"));
try {
  const tree = join(work, "tree");
  const files = 5000;
  const avg = Math.floor((totalMB * 1e6) / files);
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const dir = join(tree, `d${i % 50}`, `s${i % 7}`);
    mkdirSync(dir, { recursive: true });
    const size = i % 10 === 0 ? avg * 5 : Math.floor(avg * 0.55);
    // half random (incompressible), half repeated text (compressible), like real binaries + text
    const rnd = randomBytes(Math.floor(size / 2));
    const txt = Buffer.alloc(size - rnd.length, `line ${i} of some fairly repetitive content\n`);
    writeFileSync(join(dir, `f${i}.bin`), Buffer.concat([rnd, txt]));
    bytes += size;
  }
  const mb = bytes / 1e6;
  const time = async (label, fn) => {
    const t0 = process.hrtime.bigint();
    const extra = await fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${label.padEnd(34)} ${s.toFixed(2).padStart(6)} s  ${(mb / s).toFixed(0).padStart(5)} MB/s${extra ? "  " + extra : ""}`);
  };
  console.log(`tree: ${files} files, ${mb.toFixed(0)} MB, ${cpus().length} cores`);
  const tar = join(work, "layer.tar");
  await time("layer write (uncompressed)", async () => {
    const r = await writeLayer(walkDirectory(tree), createWriteStream(tar));
    return `diff ${r.diffId.slice(7, 19)}`;
  });
  await time("gzip, 1 worker (zlib stream)", async () => {
    const { createGzip } = await import("node:zlib");
    await pipeline(createReadStream(tar), createGzip(), createWriteStream(join(work, "l1.gz")));
    return `${(statSync(join(work, "l1.gz")).size / 1e6).toFixed(0)} MB out`;
  });
  await time(`gzip, all cores (${cpus().length}, multi-member)`, async () => {
    await pipeline(gzipParallel(createReadStream(tar)), createWriteStream(join(work, "lp.gz")));
    return `${(statSync(join(work, "lp.gz")).size / 1e6).toFixed(0)} MB out`;
  });
  await time("zstd -3 -T0 (zstd binary)", async () => {
    await pipeline(zstdCompress(createReadStream(tar)), createWriteStream(join(work, "l.zst")));
    return `${(statSync(join(work, "l.zst")).size / 1e6).toFixed(0)} MB out`;
  });
  await time("write + gzip all cores in one pass", async () => {
    await writeLayer(walkDirectory(tree), createWriteStream(join(work, "l2.gz")), { compression: "gzip" });
  });
  await time("apply (uncompressed)", async () => {
    await applyLayerToNewDir(createReadStream(tar), join(work, "applied"));
  });
  rmSync(join(work, "applied"), { recursive: true, force: true });
  await time("apply (gzip)", async () => {
    await applyLayerToNewDir(createReadStream(join(work, "lp.gz")), join(work, "applied"));
  });
  rmSync(join(work, "applied"), { recursive: true, force: true });
  await time("apply (zstd)", async () => {
    await applyLayerToNewDir(createReadStream(join(work, "l.zst")), join(work, "applied"));
  });
  void Readable;
} finally {
  rmSync(work, { recursive: true, force: true });
}
