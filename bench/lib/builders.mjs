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

export function buildkit() {
  const imported = new Set();
  return {
    name: "BuildKit",
    async unavailable() {
      try { await quiet(DOCKER, ["info"]); return null; } catch { return `${DOCKER} info fails (start dockerd: ../shared/tools/oracle.sh up)`; }
    },
    async prepare(bases) {
      for (const [name, tar] of Object.entries(bases)) {
        if (imported.has(name)) continue;
        await quiet(DOCKER, ["import", "-c", `ENV ${BASE_ENV}`, "-c", 'CMD ["sh"]', tar, BASES[name].ref]);
        imported.add(name);
      }
    },
    async cold() { await quiet(DOCKER, ["builder", "prune", "-af"]); },
    async build(ctx, fixture) {
      const r = await timed(DOCKER, ["build", "-q", "--network", "host", "-t", tagOf(fixture), ctx], { env: { DOCKER_BUILDKIT: "1" } });
      return { seconds: r.seconds };
    },
    async cleanup(fixtures) {
      const refs = [...[...imported].map((n) => BASES[n].ref), ...fixtures.map(tagOf)];
      await quiet(DOCKER, ["rmi", "-f", ...refs]).catch(() => {});
      await quiet(DOCKER, ["builder", "prune", "-af"]).catch(() => {});
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
