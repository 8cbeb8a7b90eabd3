#!/usr/bin/env node
// Pull throughput from a loopback docker-registry: a ~200 MB image (4 layers), pulled into a fresh
// store by tsbuild, and copied by skopeo (docker:// → oci:) for comparison, in the same run.
// Run: npx tsc -b && node bench/registry-pull.mjs [MB]
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Store, storeLayer, writeImage } from "../packages/oci/dist/index.js";
import { pull, push } from "../packages/registry/dist/index.js";

const totalMB = Number(process.argv[2] ?? 200);
const work = mkdtempSync(join(tmpdir(), "tsbuild-bench-pull-"));
const port = await new Promise((r) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
writeFileSync(join(work, "config.yml"), `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${work}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`);
const reg = spawn("docker-registry", ["serve", join(work, "config.yml")], { stdio: "ignore" });
try {
  for (let i = 0; i < 100; i++) { try { await fetch(`http://127.0.0.1:${port}/v2/`); break; } catch { await new Promise((r) => setTimeout(r, 50)); } }
  const src = await Store.open(join(work, "src"));
  const layers = [];
  for (let l = 0; l < 4; l++) {
    const size = Math.floor((totalMB * 1e6) / 4);
    const files = Array.from({ length: 50 }, (_, i) => ({ path: `l${l}/f${i}`, type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: Math.floor(size / 50), open: () => Readable.from([randomBytes(Math.floor(size / 50))]) }));
    layers.push(await storeLayer(src.content, files, { compression: "gzip" }));
  }
  const img = await writeImage(src.content, { architecture: "amd64", os: "linux" }, layers);
  const ref = `127.0.0.1:${port}/bench:1`;
  await push(src, img.manifest, ref);
  const mb = layers.reduce((n, l) => n + l.descriptor.size, 0) / 1e6;
  const t0 = process.hrtime.bigint();
  const r = await pull(await Store.open(join(work, "dst")), ref);
  const ts = Number(process.hrtime.bigint() - t0) / 1e9;
  const t1 = process.hrtime.bigint();
  execFileSync("skopeo", ["copy", "--insecure-policy", "--src-tls-verify=false", `docker://${ref}`, `oci:${join(work, "skopeo")}:x`], { stdio: "ignore" });
  const ss = Number(process.hrtime.bigint() - t1) / 1e9;
  console.log(`image: ${mb.toFixed(0)} MB in ${layers.length} layers (${r.downloaded} blobs pulled)`);
  console.log(`tsbuild pull   ${ts.toFixed(2)} s  ${(mb / ts).toFixed(0)} MB/s`);
  console.log(`skopeo copy    ${ss.toFixed(2)} s  ${(mb / ss).toFixed(0)} MB/s   (tsbuild/skopeo time ratio ${(ts / ss).toFixed(2)})`);
} finally {
  reg.kill();
  rmSync(work, { recursive: true, force: true });
}
