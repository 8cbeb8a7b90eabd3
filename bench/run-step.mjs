#!/usr/bin/env node
// Where a RUN step's time goes, piece by piece, as fs-step.ts does it on the overlay snapshotter:
// prepare (mkdirs + overlay mount), run (runc run, the container's whole life), diff+store (walk the
// upper dir, tar, hash, write and fsync the blob), commit (unmount, which flushes the upper dir, and
// the rename into place). Cases: a RUN that writes one small file, and one that writes 200 files of
// 1 MiB (zeros, so the layer is the same every time). Best of RUNS for each piece; the machine is noisy.
// Run: npm run build && node bench/run-step.mjs [RUNS]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OverlaySnapshotter } from "../packages/snapshot/dist/index.js";
import { RuncExecutor } from "../packages/runtime/dist/index.js";
import { Store, storeLayer } from "../packages/oci/dist/index.js";
import { makeBaseTars } from "./lib/base-images.mjs";

const runs = Number(process.argv[2] ?? 3);
const work = mkdtempSync(join(tmpdir(), "tsbuild-bench-run-step-"));
const cases = [
  ["one small file", "echo hi > /x"],
  ["200 MiB in 200 files", "mkdir /out && for i in $(seq 1 200); do head -c 1048576 /dev/zero > /out/f$i; done"],
];
try {
  const snap = new OverlaySnapshotter(join(work, "snapshots"));
  const base = await snap.prepare("base-active");
  execFileSync("tar", ["-xf", makeBaseTars(work, ["busybox"]).busybox, "-C", base.root]);
  await snap.commit("base", "base-active");
  const executor = new RuncExecutor({ stateDir: join(work, "runc"), scratch: join(work, "scratch"), cacheRoot: join(work, "cache") });
  console.log(`best of ${runs}, ms`.padEnd(24), ["prepare", "run", "diff+store", "commit", "total"].map((h) => h.padStart(11)).join(""));
  for (const [name, script] of cases) {
    const best = [Infinity, Infinity, Infinity, Infinity, Infinity];
    for (let i = 0; i < runs; i++) {
      const store = await Store.open(join(work, `store-${i}`));
      const key = `step-${i}`;
      const t = [performance.now()];
      const a = await snap.prepare(key, "base");
      t.push(performance.now());
      const r = await executor.run({ rootfs: a.root, args: ["/bin/sh", "-c", script] });
      if (r.exitCode !== 0) throw new Error(`${script} exited ${r.exitCode}`);
      t.push(performance.now());
      const layer = await storeLayer(store.content, snap.diff(key), { compression: "none" });
      t.push(performance.now());
      await snap.commit(`${layer.diffId}-${i}`, key);
      t.push(performance.now());
      const pieces = [t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3], t[4] - t[0]];
      pieces.forEach((p, j) => (best[j] = Math.min(best[j], p)));
      rmSync(join(work, `store-${i}`), { recursive: true, force: true });
    }
    console.log(name.padEnd(24), best.map((b) => b.toFixed(1).padStart(11)).join(""));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
