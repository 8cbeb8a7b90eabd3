#!/usr/bin/env node
// Multi-platform builds (issue 17): what a two-platform build (linux/amd64 + linux/arm64) costs next
// to a single-platform one when its work is in a native cross stage — FROM --platform=$BUILDPLATFORM,
// a shared step run once for both targets, a TARGETARCH step run natively for each, the result copied
// into each target's image — and, beside it, what the same work costs as a RUN in the arm64 target
// stage (emulated by QEMU) and in the amd64 one (native). Each build starts from an empty store that
// holds only the two-platform busybox base (no cache); the median of RUNS is reported.
// Goal: the cross-built two-platform build at most 1.3× the single-platform one. The targets' own
// (TARGETARCH) steps run at the same time, so the ratio depends on free cores: the load average is printed.
// Needs: npm run build; for the emulated step, QEMU's arm64 binfmt handler and the arm64 busybox
// (scripts/setup-emulation.sh); without them that part is skipped, saying why.
// Run: node bench/multi-platform.mjs [RUNS] (default 3)
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { DigestingStream, MediaTypes, Store, writeImage } from "../packages/oci/dist/index.js";
import { platformRunnable } from "../packages/runtime/dist/index.js";
import { build } from "../packages/engine/dist/index.js";

const runs = Number(process.argv[2] ?? 3);
const ARM64_BUSYBOX = new URL("../fixtures/.cache/arm64/busybox", import.meta.url).pathname;
const amd64 = { os: "linux", architecture: "amd64" };
const arm64 = { os: "linux", architecture: "arm64" };

// the work: a shell loop (CPU in the step's own process, as a compiler's), a "dependencies" part that
// does not depend on the target and a "compile" part that does
const LOOP = (n) => `i=0; while [ $i -lt ${n} ]; do i=$((i+1)); done`;
const DEPS = `${LOOP(150000)}; echo deps > /deps`;
const COMPILE = `${LOOP(300000)}; mkdir -p /out && echo "app for $TARGETARCH" > /out/app`;
const CROSS = [
  "FROM --platform=$BUILDPLATFORM busybox:multi AS build",
  `RUN ${DEPS}`,
  "ARG TARGETARCH",
  `RUN ${COMPILE}`,
  "FROM busybox:multi",
  "COPY --from=build /out/app /app",
].join("\n") + "\n";
// the same compile as a RUN of the target's stage: emulated for arm64
const IN_TARGET = ["FROM busybox:multi", "ARG TARGETARCH", `RUN ${COMPILE}`].join("\n") + "\n";

/** A store holding busybox:multi, an index of the amd64 (/bin/busybox) and arm64 busybox images. */
async function seedStore(root, work) {
  const store = await Store.open(root);
  const manifests = [];
  const arches = [["amd64", "/bin/busybox"], ...(existsSync(ARM64_BUSYBOX) ? [["arm64", ARM64_BUSYBOX]] : [])];
  for (const [architecture, busybox] of arches) {
    const r = join(work, `rootfs-${architecture}`);
    rmSync(r, { recursive: true, force: true });
    for (const d of ["bin", "etc", "tmp", "root"]) mkdirSync(join(r, d), { recursive: true });
    chmodSync(join(r, "tmp"), 0o1777);
    copyFileSync(busybox, join(r, "bin/busybox"));
    for (const a of execFileSync("/bin/busybox", ["--list"]).toString().split("\n")) if (a && a !== "busybox") symlinkSync("busybox", join(r, "bin", a));
    writeFileSync(join(r, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    const tar = execFileSync("tar", ["-C", r, "--numeric-owner", "-cf", "-", "."], { maxBuffer: 1 << 28 });
    const blob = await store.content.ingest(Readable.from([tar]).pipe(new DigestingStream()));
    const img = await writeImage(store.content, { architecture, os: "linux", created: "2020-01-01T00:00:00Z", config: { Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] } },
      [{ descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest: blob.digest, size: blob.size }, diffId: blob.digest }]);
    manifests.push({ ...img.manifest, platform: { architecture, os: "linux" } });
  }
  const index = await store.content.putBytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests }));
  await store.images.put("busybox:multi", { mediaType: MediaTypes.OCI_INDEX, digest: index.digest, size: index.size });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;

const work = mkdtempSync(join(tmpdir(), "tsbuild-bench-multi-"));
try {
  const seeded = join(work, "seed");
  await seedStore(seeded, work);
  const ctx = join(work, "ctx");
  mkdirSync(ctx);
  let n = 0;
  /** One build from a copy of the seeded store (no cache): its wall time and its step records. */
  async function timed(text, options) {
    const root = join(work, `store-${n++}`);
    cpSync(seeded, root, { recursive: true });
    writeFileSync(join(ctx, "Dockerfile"), text);
    const t0 = performance.now();
    const r = await build({ context: ctx, root, outputs: [{ type: "image" }], ...options });
    const ms = performance.now() - t0;
    rmSync(root, { recursive: true, force: true });
    return { ms, steps: r.steps };
  }
  const qemu = platformRunnable(arm64);
  const canArm64 = qemu.ok && existsSync(ARM64_BUSYBOX);
  if (!canArm64) console.log(`linux/arm64 is skipped: ${qemu.ok ? `no arm64 busybox at ${ARM64_BUSYBOX} (scripts/setup-emulation.sh)` : qemu.why}`);
  const rows = [];
  const single = [];
  const multi = [];
  const native = [];
  const emulated = [];
  for (let i = 0; i < runs; i++) {
    single.push((await timed(CROSS, { platform: amd64 })).ms);
    if (!existsSync(ARM64_BUSYBOX)) continue;
    // the cross stage needs no emulator: every RUN is on the build platform
    const m = await timed(CROSS, { platforms: [amd64, arm64] });
    multi.push(m.ms);
    const compileRuns = m.steps.filter((st) => st.instruction.startsWith("RUN i=0; while [ $i -lt 300000 ]") && !st.cached);
    if (compileRuns.length !== 2) throw new Error(`expected one compile per target, got ${compileRuns.length}`);
    const depsRuns = m.steps.filter((st) => st.instruction.startsWith("RUN i=0; while [ $i -lt 150000 ]") && !st.cached);
    if (depsRuns.length !== 1) throw new Error(`expected the shared step to run once, got ${depsRuns.length}`);
    if (canArm64) {
      const stepOf = (r) => r.steps.find((st) => st.instruction.startsWith("RUN i=0"))?.durationMs ?? NaN;
      native.push(stepOf(await timed(IN_TARGET, { platform: amd64 })));
      emulated.push(stepOf(await timed(IN_TARGET, { platform: arm64 })));
    }
  }
  rows.push(["single-platform build (linux/amd64), cross stage", s(median(single))]);
  if (multi.length) {
    const ratio = median(multi) / median(single);
    rows.push(["two-platform build (amd64 + arm64), cross stage", `${s(median(multi))}  = ${ratio.toFixed(2)}× (goal ≤ 1.30×: ${ratio <= 1.3 ? "met" : "NOT met"})`]);
  }
  if (native.length) {
    rows.push(["the compile step in the target stage, amd64 (native)", s(median(native))]);
    rows.push(["the compile step in the target stage, arm64 (QEMU)", `${s(median(emulated))}  = ${(median(emulated) / median(native)).toFixed(1)}× the native step`]);
  }
  // the targets' own steps run at once: the ratio depends on free cores (a loaded machine serialises them)
  console.log(`median of ${runs}, each build from an empty cache (busybox base in the store); ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  for (const [k, v] of rows) console.log(`  ${k.padEnd(54)} ${v}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
