#!/usr/bin/env node
// Rootless against root (issue 19): the bench fixtures (bench/fixtures/, as `npm run bench` uses
// them) built by tsbuild as root and by tsbuild run as a user other than root (rootless: a user
// namespace it makes, README "Rootless"), side by side — cold (empty build cache, base imported and
// unpacked, not counted), no-op rebuild, one-file change — the two interleaved, each run alternating
// which goes first. The user (tsbuild-bench-rl, with its own subordinate id range) is made for the
// run and removed after it. What a rootless build pays: entering the namespace (a second Node
// start, newuidmap/newgidmap), overlay with userxattr, runc's rootless set-up.
// Needs: root, npm run build, uidmap (newuidmap), setpriv.
// Run: npm run bench:rootless -- [--only NAME[,NAME]] [--skip NAME[,NAME]] [--runs N] [--keep]
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BASE_ENV, BASES, makeBaseTars } from "./lib/base-images.mjs";
import { quiet, stopRunning, timed } from "./lib/run.mjs";
import { median } from "./lib/stats.mjs";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const CLI = fileURLToPath(new URL("../packages/cli/bin/tsbuild.js", import.meta.url));
const USER = "tsbuild-bench-rl";
const RANGE = 65536;
const PHASES = ["cold", "warm", "change"];

function options(argv) {
  const o = { only: null, skip: [], runs: 1, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i]);
    if (a.startsWith("--only")) o.only = value().split(",");
    else if (a.startsWith("--skip")) o.skip = value().split(",");
    else if (a.startsWith("--runs")) o.runs = Number(value());
    else if (a === "--keep") o.keep = true;
    else throw new Error(`unknown argument ${a} (use --only NAME, --skip NAME, --runs N, --keep)`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error("--runs wants a whole number >= 1");
  return o;
}

if (process.getuid() !== 0) throw new Error("run as root: the bench makes a user with a subordinate id range");
for (const t of ["newuidmap", "newgidmap", "useradd", "setpriv"]) if (spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0) throw new Error(`${t} is missing (apt-get install uidmap)`);
if (!existsSync(join(CLI, "../../dist/bundle/tsbuild.cjs"))) throw new Error("not built: run npm run build");

const opts = options(process.argv.slice(2));
const all = readdirSync(FIXTURES).sort();
const names = (opts.only ?? all).filter((n) => !opts.skip.includes(n));
for (const n of [...names, ...opts.skip]) if (!all.includes(n)) throw new Error(`no fixture ${n} (have: ${all.join(", ")})`);
const fixtures = [];
for (const n of names) fixtures.push({ name: n, ...(await import(join(FIXTURES, n, "fixture.mjs"))).default });

/** The subid files without USER's lines, and with its range when given. */
function setSubids(start) {
  for (const f of ["/etc/subuid", "/etc/subgid"]) {
    const lines = (existsSync(f) ? readFileSync(f, "utf8") : "").split("\n").filter((l) => l && !l.startsWith(`${USER}:`));
    if (start !== undefined) lines.push(`${USER}:${start}:${RANGE}`);
    writeFileSync(f, lines.length ? lines.join("\n") + "\n" : "");
  }
}
/** A range above every other one (and above 400,000,000: away from the tests' and the usual ones). */
function freeRange() {
  let end = 400_000_000;
  for (const f of ["/etc/subuid", "/etc/subgid"]) for (const l of (existsSync(f) ? readFileSync(f, "utf8") : "").split("\n")) {
    const [, s, c] = l.split(":");
    if (s && c) end = Math.max(end, Number(s) + Number(c));
  }
  return Math.ceil(end / RANGE) * RANGE;
}

const work = mkdtempSync(join(tmpdir(), "tsbuild-bench-rootless-"));
chmodSync(work, 0o755);
const home = join(work, "home");
spawnSync("userdel", [USER]);
execFileSync("useradd", ["-M", "-d", home, "-s", "/bin/sh", USER]);
const uid = execFileSync("id", ["-u", USER], { encoding: "utf8" }).trim();
const gid = execFileSync("id", ["-g", USER], { encoding: "utf8" }).trim();
setSubids(freeRange());
mkdirSync(home);
execFileSync("chown", [`${uid}:${gid}`, home]);

/** tsbuild as root on its own store, or as the user (rootless) on the user's default store. */
function builder(name, rootless) {
  const root = join(rootless ? home : work, "store");
  const cmd = (args) => (rootless
    ? ["setpriv", ["--reuid", uid, "--regid", gid, "--init-groups", "--", "env", "-i", `HOME=${home}`, `PATH=${process.env.PATH}`, process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]]);
  const run = (args, o) => { const [c, a] = cmd(args); return timed(c, a, o); };
  const rootArg = ["--root", root];
  return {
    name,
    async cold(base, tar) {
      rmSync(root, { recursive: true, force: true }); // as root: the user's files owned by its subordinate ids too
      await run(["import", ...rootArg, tar, BASES[base].ref, "-c", `ENV ${BASE_ENV}`, "-c", 'CMD ["sh"]']);
      await run(["run", "--rm", ...rootArg, BASES[base].ref, "true"]);
    },
    async build(ctx, tag) {
      return (await run(["build", ...rootArg, "--progress=plain", "-t", tag, ctx])).seconds;
    },
    cleanup() { rmSync(root, { recursive: true, force: true }); },
  };
}

const builders = [builder("root", false), builder("rootless", true)];
const results = new Map();
const failures = [];
let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => { interrupted = true; stopRunning(sig); });
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`load average at the start: ${load()} (${cpus().length} cores); runs: ${opts.runs}`);
try {
  const tars = makeBaseTars(work, [...new Set(fixtures.map((f) => f.base))]);
  for (const t of Object.values(tars)) chmodSync(t, 0o644);
  for (const f of fixtures) {
    if (interrupted) break;
    const samples = new Map(PHASES.map((p) => [p, new Map(builders.map((b) => [b.name, []]))]));
    results.set(f.name, samples);
    const ctx = join(work, "ctx", f.name);
    cpSync(join(FIXTURES, f.name), ctx, { recursive: true, filter: (p) => !p.endsWith("fixture.mjs") });
    f.generate?.(ctx);
    execFileSync("chmod", ["-R", "a+rX", join(work, "ctx")]);
    const record = (phase, b, seconds) => {
      samples.get(phase).get(b.name).push(seconds);
      console.log(`${f.name.padEnd(22)} ${phase.padEnd(6)} ${b.name.padEnd(8)} ${seconds.toFixed(2)} s`);
    };
    const build = async (b) => { await quiet("sync", []); return b.build(ctx, `tsbuild-bench-${f.name}:latest`); };
    try {
      for (let run = 1; run <= opts.runs && !interrupted; run++) {
        const order = run % 2 ? builders : [...builders].reverse();
        for (const b of order) { await b.cold(f.base, tars[f.base]); record("cold", b, await build(b)); }
        for (const b of order) record("warm", b, await build(b));
        appendFileSync(join(ctx, f.change), `changed in run ${run}\n`);
        for (const b of order) record("change", b, await build(b));
      }
    } catch (e) {
      if (interrupted) throw e;
      failures.push(`${f.name}: ${e.message.trim().split("\n").slice(-6).join("\n    ")}`);
      console.log(`${f.name} FAILED`);
    }
  }
} catch (e) {
  if (!interrupted) throw e;
  process.exitCode = 130;
} finally {
  console.log(`load average at the end: ${load()}\n`);
  const rows = [["fixture", "phase", "root s", "rootless s", "rootless/root"]];
  const ratios = new Map(PHASES.map((p) => [p, []]));
  for (const [name, samples] of results) for (const phase of PHASES) {
    const med = (xs) => (xs.length ? median(xs) : undefined);
    const r = med(samples.get(phase).get("root")), u = med(samples.get(phase).get("rootless"));
    if (r === undefined || u === undefined) continue;
    ratios.get(phase).push(u / r);
    rows.push([name, phase, r.toFixed(2), u.toFixed(2), (u / r).toFixed(2)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n"));
  const geo = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
  console.log(`\nmedian of the runs; geometric mean of rootless/root: ${PHASES.filter((p) => ratios.get(p).length).map((p) => `${p} ${geo(ratios.get(p)).toFixed(2)}`).join(", ")}`);
  if (failures.length) console.log(`\nfailed:\n  ${failures.join("\n  ")}`);
  for (const b of builders) b.cleanup();
  setSubids();
  spawnSync("userdel", [USER]);
  if (opts.keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
