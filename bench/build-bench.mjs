#!/usr/bin/env node
// `npm run bench`: build times of tsbuild next to BuildKit and buildah on the corpus of
// bench/fixtures/ (24 Dockerfiles of different shapes: each folder a Dockerfile, its context and a
// fixture.mjs saying which base it needs, which file the change edits, how to generate a large
// context, and the fixed command time of a fixture that sleeps), each cold (empty build cache, base
// image local), warm (no-op rebuild) and after a one-file change, the builders interleaved.
// BuildKit is Debian's dockerd (start it with ../shared/tools/oracle.sh up; DOCKER names the CLI,
// default /usr/bin/docker), with --network host as tsbuild's default; a fixture with engine "modern"
// (heredocs, which Debian 12's BuildKit cannot build offline) is built by Docker 26.1's BuildKit 0.13
// instead (oracle.sh up-modern; BENCH_MODERN names its directory); buildah is used when installed.
// Unavailable builders are skipped, saying why. binfmt_misc is switched off for the run (lib/binfmt.mjs).
// Run: npm run build && npm run bench -- [--only NAME[,NAME]] [--skip NAME[,NAME]] [--runs N] [--detail] [--keep]
//   --runs N        repeat every fixture N times (default 3, ~10 min for all with BuildKit) and report
//                   the median of each phase
//   --detail        after each tsbuild build, print where its time went (from --progress=json events)
//   --keep          keep the temp dir (contexts, stores) for a look afterwards
//   --keep-binfmt   leave binfmt_misc as it is (BuildKit then pays its emulator probe in every build)
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeBaseTars } from "./lib/base-images.mjs";
import { buildah, buildkit, tsbuild } from "./lib/builders.mjs";
import { binfmtOff } from "./lib/binfmt.mjs";
import { breakdown, goals, partsTable, PHASES, stepKindTable, table } from "./lib/report.mjs";
import { quiet, stopRunning } from "./lib/run.mjs";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));

function options(argv) {
  const o = { only: null, skip: [], runs: 3, detail: false, keep: false, keepBinfmt: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i]);
    if (a.startsWith("--only")) o.only = value().split(",");
    else if (a.startsWith("--skip")) o.skip = value().split(",");
    else if (a === "--keep-binfmt") o.keepBinfmt = true;
    else if (a.startsWith("--runs")) o.runs = Number(value());
    else if (a === "--detail") o.detail = true;
    else if (a === "--keep") o.keep = true;
    else throw new Error(`unknown argument ${a} (use --only NAME, --skip NAME, --runs N, --detail, --keep, --keep-binfmt)`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error("--runs wants a whole number >= 1");
  return o;
}

const opts = options(process.argv.slice(2));
const all = readdirSync(FIXTURES).sort();
const names = (opts.only ?? all).filter((n) => !opts.skip.includes(n));
for (const n of [...names, ...opts.skip]) if (!all.includes(n)) throw new Error(`no fixture ${n} (have: ${all.join(", ")})`);
const fixtures = [];
for (const n of names) fixtures.push({ name: n, ...(await import(join(FIXTURES, n, "fixture.mjs"))).default });

const work = mkdtempSync(join(tmpdir(), "tsbuild-bench-build-"));
const builders = [];
for (const b of [tsbuild(work), buildkit(), buildah(work)]) {
  const why = await b.unavailable(fixtures);
  if (why) console.log(`skipping ${b.name}: ${why}`);
  else builders.push(b);
}
const results = new Map();
const failures = [];
const restoreBinfmt = builders.some((b) => b.name === "BuildKit") && !opts.keepBinfmt ? binfmtOff() : () => {};
let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => {
    console.log(`\n${sig}: stopping the running build, then cleaning up`);
    interrupted = true;
    stopRunning(sig);
  });
}
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`load average at the start: ${load()} (${cpus().length} cores); runs: ${opts.runs}`);
try {
  const tars = makeBaseTars(work, [...new Set(fixtures.map((f) => f.base))]);
  for (const b of builders) await b.prepare(tars, fixtures);
  for (const f of fixtures) {
    if (interrupted) break;
    const phases = new Map(PHASES.map((p) => [p, new Map()]));
    results.set(f.name, { fixed: f.fixed, phases });
    const ctx = join(work, "ctx", f.name);
    cpSync(join(FIXTURES, f.name), ctx, { recursive: true, filter: (p) => !p.endsWith("fixture.mjs") });
    f.generate?.(ctx);
    const record = (phase, b, r) => {
      const samples = phases.get(phase);
      if (!samples.has(b.name)) samples.set(b.name, []);
      samples.get(b.name).push(r);
      console.log(`${f.name.padEnd(16)} ${phase.padEnd(6)} ${b.name.padEnd(8)} ${r.seconds.toFixed(2)} s`);
      if (opts.detail && r.profile) console.log(breakdown(r.profile, r.seconds));
      if (interrupted) throw new Error("interrupted");
    };
    // Before each timed build, `sync` (not counted): otherwise the first fsync or overlay unmount of a
    // build flushes what the builder before it left in the page cache (buildah and dockerd do not sync
    // their layers), and one builder's time includes another's writes.
    const build = async (b) => {
      await quiet("sync", []);
      return b.build(ctx, f.name, f);
    };
    // a build that fails ends its fixture (said in the summary), not the bench
    try {
      for (let run = 1; run <= opts.runs && !interrupted; run++) {
        // every other run the builders go in the other order, so none always runs first (page cache, CPU
        // frequency, what the one before left to write back)
        const here = builders.filter((b) => !b.skips?.(f));
        const order = run % 2 ? here : [...here].reverse();
        for (const b of order) {
          const setup = await b.cold({ [f.base]: tars[f.base] }, f);
          if (opts.detail && setup) console.log(`  ${b.name} base import + unpack before cold (not counted) ${setup.setupSeconds.toFixed(2)} s`);
          record("cold", b, await build(b));
        }
        for (const b of order) record("warm", b, await build(b));
        appendFileSync(join(ctx, f.change), `changed in run ${run}\n`);
        for (const b of order) record("change", b, await build(b));
      }
    } catch (e) {
      if (interrupted) throw e;
      failures.push(`${f.name}: ${e.message.trim().split("\n").slice(0, 8).join("\n    ")}`);
      console.log(`${f.name} FAILED: ${e.message.trim().split("\n").slice(-4).join(" / ")}`);
    }
  }
} catch (e) {
  if (!interrupted) throw e;
  process.exitCode = 130;
} finally {
  restoreBinfmt();
  console.log(`load average at the end: ${load()}`);
  console.log(`\n${table(results, builders.map((b) => b.name))}\n\n${goals(results)}\n\n${stepKindTable(results)}\n\n${partsTable(results)}`);
  if (failures.length) console.log(`\nfailed (the fixture's remaining builds skipped):\n  ${failures.join("\n  ")}`);
  if (opts.keep) console.log(`kept ${work}`);
  else {
    for (const b of builders) await b.cleanup(fixtures).catch((e) => console.log(`cleanup of ${b.name}: ${e.message}`));
    rmSync(work, { recursive: true, force: true });
  }
}
