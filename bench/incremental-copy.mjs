#!/usr/bin/env node
// The COPY step of the 20,000-file context (fixtures/context-20k) after a one-file change and in a
// no-op rebuild, tsbuild only, A/B: with --compare DIR, the checkout in DIR (built: npm run build)
// runs the same builds, alternating with this one, each on its own store, on the same context.
// Prints each build's COPY time (from --progress=json), wall time and COPY layer, then the best and
// the median of each. The layers of both must be the same (SOURCE_DATE_EPOCH is set).
// Run: npm run build && node bench/incremental-copy.mjs [--runs N] [--compare /path/to/other/checkout]
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BASE_ENV, BASES, makeBaseTars } from "./lib/base-images.mjs";

const here = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const runs = Number(opt("--runs", "5"));
const sides = { new: here, ...(opt("--compare") ? { old: opt("--compare") } : {}) };
const fixture = (await import("./fixtures/context-20k/fixture.mjs")).default;

const work = mkdtempSync(join(tmpdir(), "tsbuild-bench-incremental-"));
const env = { ...process.env, SOURCE_DATE_EPOCH: "1600000000" };
const cli = (side) => join(sides[side], "packages/cli/bin/tsbuild.js");
function tsbuild(side, ...a) {
  const r = spawnSync("node", [cli(side), ...a], { env, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tsbuild ${a[0]} (${side}) failed: ${r.stderr}`);
  return `${r.stdout}\n${r.stderr}`; // (--progress=json events go to stderr)
}

function build(side) {
  const t0 = process.hrtime.bigint();
  const out = tsbuild(side, "build", "--root", join(work, `root-${side}`), "--progress=json", "-t", "bench:1", join(work, "ctx"));
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const copy = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).find((e) => e.type === "step-done" && e.id === 1);
  return { wall, copy: copy.durationMs, layer: copy.layer.slice(7, 19), detail: copy.detail ?? (copy.cached ? "cached" : "full") };
}

try {
  const tar = makeBaseTars(work, ["busybox"]).busybox;
  cpSync(fileURLToPath(new URL("./fixtures/context-20k", import.meta.url)), join(work, "ctx"), { recursive: true, filter: (p) => !p.endsWith("fixture.mjs") });
  fixture.generate(join(work, "ctx"));
  for (const side of Object.keys(sides)) {
    const root = join(work, `root-${side}`);
    tsbuild(side, "import", "--root", root, tar, BASES.busybox.ref, "-c", `ENV ${BASE_ENV}`, "-c", 'CMD ["sh"]');
    tsbuild(side, "run", "--rm", "--root", root, BASES.busybox.ref, "true");
    build(side); // cold
  }
  const times = {};
  for (const phase of ["change", "noop"]) {
    for (let i = 0; i < runs; i++) {
      if (phase === "change") appendFileSync(join(work, "ctx", fixture.change), `edit ${i}\n`);
      const order = i % 2 ? Object.keys(sides).reverse() : Object.keys(sides);
      for (const side of order) {
        const r = build(side);
        (times[`${phase} ${side}`] ??= []).push(r);
        console.log(`${phase.padEnd(6)} ${side.padEnd(3)} COPY ${String(r.copy).padStart(5)} ms  wall ${r.wall.toFixed(0).padStart(5)} ms  layer ${r.layer}  ${r.detail}`);
      }
    }
  }
  for (const [k, rs] of Object.entries(times)) {
    const copy = rs.map((r) => r.copy).sort((a, b) => a - b);
    const wall = rs.map((r) => r.wall).sort((a, b) => a - b);
    console.log(`${k.padEnd(10)} COPY best ${copy[0]} median ${copy[copy.length >> 1]} ms   wall best ${wall[0].toFixed(0)} median ${wall[wall.length >> 1].toFixed(0)} ms`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
