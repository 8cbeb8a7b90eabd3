#!/usr/bin/env node
// COPY --link against a plain COPY of a 20,000-file context (200 directories of 4 KB files, 79 MB,
// made at run time), tsbuild only, each on its own store:
//   first   a first build (the build cache pruned before each: the base stays unpacked)
//   run     a rebuild after the RUN before the COPY changed (a plain COPY runs again, --link hits)
//   base    a rebuild on another base image (a new one each time: --link hits and is rebased)
// Dockerfile: FROM $BASE; RUN echo $V > /v; COPY [--link] . /app; RUN cat /app/... /v > /seen.
// Prints each build's COPY step time (from --progress=json), the step after it and the wall time,
// then best and median. The last RUN checks that the files are there; the COPY layer is printed so
// that a rebased --link step can be seen to reuse its blob. With --compare DIR the checkout in DIR
// (built) runs the same builds, alternating with this one (on stores of its own).
// Run: npm run build && node bench/link-copy.mjs [--runs N] [--epoch] [--compare /path/to/other/checkout]
//   --epoch   set SOURCE_DATE_EPOCH (the layers' times clamped)
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BASE_ENV, BASES, makeBaseTars } from "./lib/base-images.mjs";

const here = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const runs = Number(opt("--runs", "3"));
const checkouts = { new: here, ...(opt("--compare") ? { old: opt("--compare") } : {}) };
const env = { ...process.env, ...(args.includes("--epoch") ? { SOURCE_DATE_EPOCH: "1600000000" } : {}) };
const work = mkdtempSync(join(tmpdir(), "tsbuild-bench-link-"));
const ctx = join(work, "ctx");
const sides = Object.keys(checkouts).flatMap((c) => ["plain", "link"].map((copy) => ({ name: `${c} ${copy}`, checkout: checkouts[c], copy, root: join(work, `root-${c}-${copy}`) })));

function tsbuild(side, ...a) {
  const r = spawnSync("node", [join(side.checkout, "packages/cli/bin/tsbuild.js"), ...a], { env, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tsbuild ${a[0]} (${side.name}) failed: ${r.stderr}`);
  return `${r.stdout}\n${r.stderr}`; // (--progress=json events go to stderr)
}

function build(side, base, v) {
  spawnSync("sync"); // what the build before left in the page cache is not this one's to flush
  const t0 = process.hrtime.bigint();
  const out = tsbuild(side, "build", "--root", side.root, "--progress=json", "-f", join(work, `Dockerfile.${side.copy}`),
    "--build-arg", `BASE=${base}`, "--build-arg", `V=${v}`, ctx);
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const events = out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const starts = new Map(events.filter((e) => e.type === "step-start").map((e) => [e.id, e.instruction]));
  const done = events.filter((e) => e.type === "step-done");
  const copy = done.find((e) => starts.get(e.id)?.startsWith("COPY"));
  const after = done.find((e) => starts.get(e.id)?.startsWith("RUN cat"));
  return { wall, copy: copy.durationMs, after: after.durationMs, layer: (copy.layer ?? "").slice(7, 19), cached: copy.cached };
}

try {
  // the context: 20,000 files of 4 KB in 200 directories
  for (let i = 0; i < 20_000; i++) {
    const d = join(ctx, "src", `d${i % 200}`);
    if (i < 200) mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${Math.floor(i / 200)}.txt`), `file ${i}\n`.repeat(4000 / `file ${i}\n`.length | 0).padEnd(4000, "."));
  }
  for (const copy of ["plain", "link"]) {
    writeFileSync(join(work, `Dockerfile.${copy}`), [
      "ARG BASE", "FROM $BASE", "ARG V", "RUN echo $V > /v",
      `COPY ${copy === "link" ? "--link " : ""}. /app`, "RUN cat /app/src/d0/f0.txt /v > /seen && test -f /app/src/d199/f99.txt",
    ].join("\n"));
  }
  // bases: busybox, and a variant of it per rebuild of the "base" phase (one more file each)
  const tar = makeBaseTars(work, ["busybox"]).busybox;
  const bases = [BASES.busybox.ref];
  for (let i = 1; i <= runs; i++) bases.push(`${BASES.busybox.ref.replace(/:latest$/, "")}-${i}:latest`);
  for (const side of sides) {
    for (const [i, ref] of bases.entries()) {
      tsbuild(side, "import", "--root", side.root, tar, ref, "-c", `ENV ${BASE_ENV}`, "-c", 'CMD ["sh"]');
      if (i > 0) {
        // a changed base: one more layer on it
        writeFileSync(join(work, "Dockerfile.base"), `FROM ${ref}\nRUN echo ${i} > /base-id\n`);
        tsbuild(side, "build", "--root", side.root, "-f", join(work, "Dockerfile.base"), "-t", ref, work);
      } else tsbuild(side, "run", "--rm", "--root", side.root, ref, "true");
    }
  }
  const times = {};
  const phases = [
    ["first", (side, i) => (tsbuild(side, "prune", "--all", "--root", side.root), build(side, bases[0], `first-${i}`))],
    ["run", (side, i) => build(side, bases[0], `run-${i}`)],
    ["base", (side, i) => build(side, bases[i + 1], "run-0")],
  ];
  for (const [phase, fn] of phases) {
    for (let i = 0; i < runs; i++) {
      const order = i % 2 ? [...sides].reverse() : sides;
      for (const side of order) {
        const r = fn(side, i);
        (times[`${phase.padEnd(5)} ${side.name}`] ??= []).push(r);
        console.log(`${phase.padEnd(5)} ${side.name.padEnd(9)} COPY ${String(r.copy).padStart(5)} ms${r.cached ? " (cached)" : "         "}  next RUN ${String(r.after).padStart(4)} ms  wall ${r.wall.toFixed(0).padStart(5)} ms  layer ${r.layer}`);
      }
    }
  }
  console.log("");
  for (const [k, rs] of Object.entries(times)) {
    const stat = (xs) => { const s = [...xs].sort((a, b) => a - b); return `best ${s[0].toFixed(0).padStart(5)} median ${s[s.length >> 1].toFixed(0).padStart(5)}`; };
    console.log(`${k.padEnd(16)} COPY ${stat(rs.map((r) => r.copy))} ms   wall ${stat(rs.map((r) => r.wall))} ms`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
