// The builders compared: tsbuild (its own store via --root), BuildKit (Debian's dockerd, as oracle.sh
// uses it) and buildah (`buildah bud --layers`, its own storage). Each can say why it is unavailable,
// import the base tarballs, forget its cache (cold) and build a context.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BASE_ENV, BASES } from "./base-images.mjs";
import { quiet, timed } from "./run.mjs";

const TSBUILD_CLI = fileURLToPath(new URL("../../packages/cli/bin/tsbuild.js", import.meta.url));
const DOCKER = process.env.DOCKER ?? "/usr/bin/docker"; // /usr/local/bin/docker may be a newer CLI without buildx
const tagOf = (fixture) => `tsbuild-bench-${fixture}:latest`;

export function tsbuild(work) {
  const root = join(work, "tsbuild-root");
  return {
    name: "tsbuild",
    async unavailable() { return existsSync(join(TSBUILD_CLI, "../../dist/main.js")) ? null : "not built: run npm run build"; },
    async prepare() {},
    // Like docker import, which unpacks into overlay2, the base is imported and unpacked (by running
    // it once) before the cold build: cold means no build cache, not no base image.
    async cold(bases) {
      rmSync(root, { recursive: true, force: true });
      const t0 = process.hrtime.bigint();
      for (const [name, tar] of Object.entries(bases)) {
        await quiet("node", [TSBUILD_CLI, "import", "--root", root, tar, BASES[name].ref, "-c", `ENV ${BASE_ENV}`, "-c", 'CMD ["sh"]']);
        await quiet("node", [TSBUILD_CLI, "run", "--rm", "--root", root, BASES[name].ref, "true"]);
      }
      return { setupSeconds: Number(process.hrtime.bigint() - t0) / 1e9 };
    },
    async build(ctx, fixture) {
      const r = await timed("node", [TSBUILD_CLI, "build", "--root", root, "--progress=json", "-t", tagOf(fixture), ctx], { json: true });
      return { seconds: r.seconds, profile: r.lines };
    },
    async cleanup() { rmSync(root, { recursive: true, force: true }); },
  };
}

// Debian 13's Docker 26.1 (BuildKit 0.13), unpacked and started by ../shared/tools/oracle.sh up-modern:
// the BuildKit of fixtures that Debian 12's cannot build offline (heredocs need dockerfile 1.4).
const MODERN = process.env.BENCH_MODERN ?? "/opt/oracle-modern";
const ENGINES = {
  debian12: { docker: DOCKER, env: {}, start: "../shared/tools/oracle.sh up" },
  modern: { docker: join(MODERN, "root/usr/bin/docker"), env: { DOCKER_HOST: `unix://${MODERN}/run/docker.sock`, DOCKER_CONFIG: join(MODERN, "cfg") }, start: "../shared/tools/oracle.sh up-modern" },
};

/** BuildKit: Debian 12's dockerd, or the modern one for a fixture whose `engine` is "modern". */
export function buildkit() {
  const imported = new Set();
  const engineOf = (fixture) => ENGINES[fixture?.engine ?? "debian12"];
  const docker = (engine, args, opts = {}) => quiet(engine.docker, args, { ...opts, env: { ...engine.env, ...(opts.env ?? {}) } });
  return {
    name: "BuildKit",
    async unavailable(fixtures = []) {
      for (const e of new Set([ENGINES.debian12, ...fixtures.map(engineOf)])) {
        try { await docker(e, ["info"]); } catch { return `${e.docker} info fails (start dockerd: ${e.start})`; }
      }
      return null;
    },
    async prepare(bases, fixtures = []) {
      for (const e of new Set([ENGINES.debian12, ...fixtures.map(engineOf)])) {
        for (const [name, tar] of Object.entries(bases)) {
          const key = `${e.docker} ${name}`;
          if (imported.has(key)) continue;
          await docker(e, ["import", "-c", `ENV ${BASE_ENV}`, "-c", 'CMD ["sh"]', tar, BASES[name].ref]);
          imported.add(key);
        }
      }
    },
    async cold(_bases, fixture) { await docker(engineOf(fixture), ["builder", "prune", "-af"]); },
    async build(ctx, name, fixture) {
      const e = engineOf(fixture);
      const r = await timed(e.docker, ["build", "-q", "--network", "host", "-t", tagOf(name), ctx], { env: { DOCKER_BUILDKIT: "1", ...e.env } });
      return { seconds: r.seconds };
    },
    async cleanup(fixtures) {
      for (const e of new Set([ENGINES.debian12, ...fixtures.map(engineOf)])) {
        const refs = [...Object.values(BASES).map((b) => b.ref), ...fixtures.map((f) => tagOf(f.name))];
        await docker(e, ["rmi", "-f", ...refs]).catch(() => {});
        await docker(e, ["builder", "prune", "-af"]).catch(() => {});
      }
    },
  };
}

export function buildah(work) {
  const root = join(work, "buildah");
  const global = ["--root", join(root, "storage"), "--runroot", join(root, "run"), "--storage-driver", "overlay"];
  const b = (...args) => quiet("buildah", [...global, ...args]);
  const wipe = async () => {
    if (!existsSync(root)) return;
    await b("rm", "--all").catch(() => {});
    await b("rmi", "--all", "--force").catch(() => {});
    // a buildah killed mid-build leaves its overlay mounts (and storage/overlay bound on itself)
    const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "").filter((m) => m.startsWith(`${root}/`));
    for (const m of mounts.sort().reverse()) await quiet("umount", [m]).catch(() => {});
    rmSync(root, { recursive: true, force: true });
  };
  return {
    name: "buildah",
    async unavailable() {
      try { await quiet("buildah", ["--version"]); } catch { return "buildah is not installed (apt-get install buildah)"; }
      return null;
    },
    // Debian 12's buildah (1.28) has no heredocs (1.33 added them)
    skips(fixture) { return fixture.engine === "modern"; },
    async prepare() {},
    async cold(bases) {
      await wipe();
      mkdirSync(root, { recursive: true });
      for (const [name, tar] of Object.entries(bases)) {
        const ctr = (await b("from", "scratch")).trim();
        await b("add", ctr, tar, "/");
        await b("config", "--env", BASE_ENV, "--cmd", "sh", ctr);
        await b("commit", "-q", ctr, BASES[name].ref);
        await b("rm", ctr);
      }
    },
    async build(ctx, fixture) {
      const r = await timed("buildah", [...global, "bud", "--layers", "-q", "--network", "host", "-t", tagOf(fixture), ctx]);
      return { seconds: r.seconds };
    },
    async cleanup() { await wipe(); },
  };
}
