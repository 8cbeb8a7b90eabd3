import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Store } from "@tsbuild/oci";
import { build, sweepDeadBuilds } from "../src/index.js";
import { entries, mountsUnder, putBusyboxBase, runcContainers } from "./helpers/store-fixtures.js";

/**
 * A build sweeps what killed builds left before it starts (dead-builds.ts): a `tsbuild build` killed
 * with SIGKILL in a secret RUN leaves its container running, its overlay and secret tmpfs mounted, its
 * scratch dir, active snapshot and session file; the next build removes all of that, and leaves a
 * build running at the same time alone.
 */
const work = mkdtempSync(join(tmpdir(), "tsbuild-dead-builds-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
const bin = fileURLToPath(new URL("../../cli/bin/tsbuild.js", import.meta.url));
const children: ChildProcess[] = [];

beforeAll(async () => {
  await putBusyboxBase(root, work);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "Dockerfile.dead"), "FROM base:1\nRUN --mount=type=secret,id=tok cat /run/secrets/tok > /dev/null && echo dead-''started && sleep 63\n");
  writeFileSync(join(ctx, "Dockerfile.live"), "FROM base:1\nRUN --mount=type=secret,id=tok echo live-''started && sleep 4 && cat /run/secrets/tok > /live.txt\n");
}, 60_000);
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  // whatever a failed assertion left: containers, mounts
  for (const id of spawnSync("runc", ["--root", join(root, "runc"), "list", "-q"]).stdout.toString().split("\n").filter(Boolean)) {
    spawnSync("runc", ["--root", join(root, "runc"), "delete", "--force", id]);
  }
  for (const m of mountsUnder(root).sort((a, b) => b.length - a.length)) spawnSync("umount", ["-l", m]);
  rmSync(work, { recursive: true, force: true });
});

/** Starts `tsbuild build -f Dockerfile.NAME` with the secret `tok` from the environment; resolves once the RUN printed NAME-started. */
async function startBuild(name: string, token: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [bin, "build", "--progress=plain", "--secret", "id=tok,env=TOK", "-f", join(ctx, `Dockerfile.${name}`), ctx], {
    env: { ...process.env, TSBUILD_ROOT: root, TOK: token }, stdio: ["ignore", "ignore", "pipe"],
  });
  children.push(child);
  let err = "";
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.includes(`${name}-started`)) resolve();
    });
    child.on("exit", (code) => reject(new Error(`build ${name} exited ${code} before its RUN started: ${err}`)));
  });
  return child;
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => (c.exitCode !== null || c.signalCode !== null ? r(c.exitCode) : c.on("exit", (code) => r(code))));

/** What in the store is stamped with this pid (`-PID.START-`): containers, mounts, scratch dirs, active snapshots, sessions. */
function owned(pid: number): Record<string, string[]> {
  const mine = (names: string[]) => names.filter((n) => n.includes(`-${pid}.`) || n.startsWith(`${pid}.`));
  return {
    containers: mine(runcContainers(root)),
    mounts: mountsUnder(root).filter((m) => m.includes(`-${pid}.`) || m.includes(`/${pid}.`)),
    scratch: mine(entries(join(root, "tmp"))),
    active: mine(entries(join(root, "snapshots", "overlay", "a"))),
    sessions: mine(entries(join(root, "locks", "sessions"))),
  };
}

describe("a build sweeps dead builds' leftovers", () => {
  it("kills and deletes a killed build's container, unmounts its overlay and secret tmpfs, removes its dirs and session; a live build's are untouched", async () => {
    const dead = await startBuild("dead", "dead-secret-value");
    const deadPid = dead.pid as number;
    dead.kill("SIGKILL");
    await exited(dead);
    const left = owned(deadPid);
    expect(left.containers).toHaveLength(1);
    expect(left.mounts.some((m) => m.endsWith("/secrets"))).toBe(true); // the secret tmpfs
    expect(left.mounts.some((m) => m.endsWith("/merged"))).toBe(true); // the RUN's overlay
    expect(left.scratch).toHaveLength(1);
    expect(left.active).toHaveLength(1);
    expect(left.sessions).toHaveLength(1);
    expect(spawnSync("pgrep", ["-f", "sleep 63"]).stdout.toString().trim()).not.toBe(""); // the container kept running

    const live = await startBuild("live", "live-secret-value");
    const liveBefore = owned(live.pid as number);
    expect(liveBefore.containers).toHaveLength(1);
    // a build in this process: it sweeps first
    const r = await build({ context: ctx, dockerfileText: "FROM base:1\nRUN echo swept > /swept.txt\n", root, tags: ["swept:1"] });
    expect(r.steps.at(-1)?.cached).toBe(false);
    expect(owned(deadPid)).toEqual({ containers: [], mounts: [], scratch: [], active: [], sessions: [] });
    expect(spawnSync("pgrep", ["-f", "sleep 63"]).stdout.toString().trim()).toBe("");
    expect(owned(live.pid as number)).toEqual(liveBefore);
    expect(await exited(live)).toBe(0);
    expect(owned(live.pid as number)).toEqual({ containers: [], mounts: [], scratch: [], active: [], sessions: [] });
    expect(mountsUnder(root)).toEqual([]);
    expect(runcContainers(root)).toEqual([]);
    expect(entries(join(root, "tmp"))).toEqual([]);
  }, 60_000);

  it("costs about a millisecond when nothing is left", async () => {
    const store = await Store.open(root);
    await sweepDeadBuilds(store);
    const times: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await sweepDeadBuilds(store);
      expect(r).toMatchObject({ containers: 0, mounts: 0, dirs: 0, files: 0, failed: [] });
      times.push(r.ms);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1] as number;
    console.log(`sweep with nothing to clean: median ${median.toFixed(2)} ms, max ${(times.at(-1) as number).toFixed(2)} ms (${times.length} runs)`);
    expect(median).toBeLessThan(5);
  });
  it("removes a dead build's --ssh agent directory from the temporary directory, and nothing else stamped there", async () => {
    let dead = 4_000_000;
    while (existsSync(`/proc/${dead}`)) dead++;
    const agentDir = join(tmpdir(), `tsbuild-ssh-${dead}.1-sweeptest`);
    const other = join(tmpdir(), `other-tool-${dead}.1-sweeptest`);
    mkdirSync(agentDir);
    mkdirSync(other);
    try {
      await sweepDeadBuilds(await Store.open(root));
      expect(existsSync(agentDir)).toBe(false);
      expect(existsSync(other)).toBe(true);
    } finally {
      rmSync(agentDir, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
    }
  });
});
