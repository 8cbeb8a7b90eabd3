#!/usr/bin/env node
// Parallel gzip of one layer: gzipParallel with 1 worker vs all cores, best of N runs each, on a
// generated layer-like file (half random bytes, half repetitive text, per 64 kB block). CPU
// seconds (all threads) are printed too: on a busy machine they show the cost when wall time cannot.
// Run: npx tsc -b packages/oci && node bench/gzip-workers.mjs [MB] [runs]
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { availableParallelism, tmpdir, loadavg } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { randomBytes } from "node:crypto";
import { gzipParallel } from "../packages/oci/dist/index.js";

const totalMB = Number(process.argv[2] ?? 200);
const runs = Number(process.argv[3] ?? 3);
const work = mkdtempSync(join(tmpdir(), "tsbuild-bench-gzip-"));
try {
  const input = join(work, "layer.tar");
  const out = createWriteStream(input);
  const block = 64 * 1024;
  for (let i = 0; i < (totalMB * 1e6) / block; i++) {
    const rnd = randomBytes(block / 2);
    const txt = Buffer.alloc(block / 2, `line ${i} of some fairly repetitive content\n`);
    if (!out.write(Buffer.concat([rnd, txt]))) await new Promise((r) => out.once("drain", r));
  }
  await new Promise((r) => out.end(r));
  const mb = statSync(input).size / 1e6;
  const cores = availableParallelism();
  console.log(`input: ${mb.toFixed(0)} MB, ${cores} cores, load average ${loadavg()[0].toFixed(1)}, best of ${runs}`);
  for (const workers of [...new Set([1, cores])]) {
    let best = Infinity;
    let cpu = Infinity;
    let outMB = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      await pipeline(gzipParallel(createReadStream(input), { workers }), createWriteStream(join(work, "out.gz")));
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
      const c = process.cpuUsage(c0);
      cpu = Math.min(cpu, (c.user + c.system) / 1e6);
      outMB = statSync(join(work, "out.gz")).size / 1e6;
    }
    console.log(`gzipParallel, ${String(workers).padStart(2)} worker(s)  ${best.toFixed(2).padStart(6)} s  ${(mb / best).toFixed(0).padStart(5)} MB/s  ${cpu.toFixed(2)} s CPU  ${outMB.toFixed(0)} MB out`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
