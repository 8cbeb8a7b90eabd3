/**
 * Runs one process in a throwaway runc container on a prepared root file system: user and groups
 * resolved from the image, env (PATH and HOME filled in as docker does; no HOSTNAME, as BuildKit
 * sets none: the hostname is the UTS name, and in /etc/hosts), generated /etc/hosts and
 * /etc/resolv.conf as BuildKit makes them (absent from the layer unless the image had them), network
 * mode, RUN mounts. Output streams as it comes; the exit code is returned (128+n for a signal).
 * A timeout, an abort or tsbuild being interrupted kills the container, and the container, its
 * bundle and runc state are removed in every case.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { mountOwnProc, ownerStamp, toolPath } from "@tsbuild/oci";
import { buildSpec, type NetworkMode } from "./spec.js";
import { processEnv } from "./process-env.js";
import { resolveUser } from "./user.js";
import { prepareRunMounts, type RunMount } from "./run-mounts.js";
import { findStubs, removeStubs, type Stubs } from "./stubs.js";
import { checkRootfsForRunc } from "./rootfs-check.js";
import type { Executor, RunRequest, RunResult } from "./executor.js";

export interface ExecutorOptions {
  /** runc's state directory (--root): ours alone, so we never touch other containers */
  stateDir: string;
  /** where bundles and generated files go */
  scratch: string;
  /** RUN --mount=type=cache directories */
  cacheRoot: string;
  runc?: string;
}

export class RuncError extends Error {
  override readonly name = "RuncError";
}

const running = new Map<string, { stateDir: string; runc: string }>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once("exit", () => {
    for (const [id, r] of running) {
      spawnSync(r.runc, ["--root", r.stateDir, "kill", id, "KILL"], { stdio: "ignore" });
      spawnSync(r.runc, ["--root", r.stateDir, "delete", "--force", id], { stdio: "ignore" });
    }
  });
}

const inflight = new Set<Promise<void>>();

/** Resolves once every run started so far has cleaned up (its container deleted, mounts released). */
export async function settleRuns(): Promise<void> {
  while (inflight.size) await Promise.all([...inflight]);
}

/** Kills every container this process started (for SIGINT/SIGTERM handlers). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map(([id, r]) => runcQuiet(r.runc, ["--root", r.stateDir, "kill", id, "KILL"])));
}

function runcQuiet(runc: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const c = spawn(runc, args, { stdio: "ignore" });
    c.on("error", () => resolve(1));
    c.on("close", (code) => resolve(code ?? 1));
  });
}

async function hostResolvConf(network: NetworkMode): Promise<string> {
  if (network === "none") return "";
  try {
    return await readFile("/etc/resolv.conf", "utf8");
  } catch {
    return "nameserver 127.0.0.1\n";
  }
}

export class RuncExecutor implements Executor {
  constructor(private readonly opts: ExecutorOptions) {}

  /** runc, looked up at the first RUN (a build without one does not need it) */
  private get runc(): string {
    return this.opts.runc ?? toolPath("runc");
  }

  /** Runs one process; until its container is deleted and its bundle removed, settleRuns() waits for it. */
  run(req: RunRequest): Promise<RunResult> {
    const p = this.runOnce(req);
    const settled = p.then(() => undefined, () => undefined);
    inflight.add(settled);
    void settled.then(() => inflight.delete(settled));
    return p;
  }

  private async runOnce(req: RunRequest): Promise<RunResult> {
    hookExit();
    mountOwnProc(); // a rootless build's runc reads the /proc of its pid namespace
    // stamped with its builder: a later build deletes it if this process dies (dead-containers.ts)
    const id = `tsbuild-${ownerStamp()}-${randomBytes(6).toString("hex")}`;
    const bundle = join(this.opts.scratch, id);
    const network = req.network ?? "default";
    const hostname = req.hostname ?? "buildkitsandbox"; // BuildKit's default (executor/oci/spec.go)
    await mkdir(bundle, { recursive: true });
    await mkdir(this.opts.stateDir, { recursive: true });
    let prepared: Awaited<ReturnType<typeof prepareRunMounts>> | undefined;
    let stubs: Stubs = { paths: [], parentTimes: new Map() };
    try {
      checkRootfsForRunc(req.rootfs); // a /dev symlink would take runc's writes to the host
      const user = await resolveUser(req.rootfs, req.user);
      for (const { name, data } of req.secretEnv ?? []) {
        // runc's refusal of a NUL byte in a variable prints the variable, secret and all
        if (name.includes("\0") || data.includes(0)) throw new RuncError(`a secret cannot be put in the environment as ${JSON.stringify(name.replace(/\0/g, "?"))}: a variable's name and value cannot hold a NUL byte`);
      }
      const env = processEnv(req, user.home);
      // BuildKit's hosts file (executor/oci/hosts.go); no /etc/hostname, as in BuildKit (the UTS name is set)
      const etc = { hosts: join(bundle, "hosts"), resolv: join(bundle, "resolv.conf") };
      await writeFile(etc.hosts, `127.0.0.1\tlocalhost ${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
      await writeFile(etc.resolv, await hostResolvConf(network));
      const secretEnv = (req.secretEnv ?? []).length > 0;
      prepared = await prepareRunMounts(req.mounts ?? [], { cacheRoot: this.opts.cacheRoot, scratch: bundle, ...(req.signal ? { signal: req.signal } : {}), secretsTmpfs: secretEnv });
      // as BuildKit 0.13: what runc makes for the generated /etc files and every mount target, and
      // every missing directory above them, is removed after the run where it is still empty
      const destinations = ["/etc/hosts", "/etc/resolv.conf", ...prepared.mounts.map((m) => m.destination)];
      stubs = await findStubs(req.rootfs, destinations);
      const spec = buildSpec({
        rootfs: req.rootfs, args: req.args, env, cwd: req.cwd ?? "/", uid: user.uid, gid: user.gid,
        additionalGids: user.additionalGids, hostname, network, etcFiles: etc, extraMounts: prepared.mounts,
        ...(req.security ? { security: req.security } : {}),
        ...(req.systemPaths === "unconfined" ? { unmaskedSystemPaths: true } : {}),
      });
      // a config holding secrets in its env is written to the secrets tmpfs only, and runc reads it there
      let bundleDir = bundle;
      if (secretEnv && prepared.secrets) {
        await prepared.secrets.addFile("config.json", JSON.stringify(spec));
        bundleDir = prepared.secrets.dir;
      } else await writeFile(join(bundle, "config.json"), JSON.stringify(spec));
      return await this.exec(id, bundleDir, req);
    } finally {
      // forgotten only once deleted: an exit in between still finds it (the exit hook). `runc run`
      // deletes its container when the process exits; only a container it left (runc killed,
      // failed to start) still has its state dir, and another runc process to remove it costs ~10 ms
      if (existsSync(join(this.opts.stateDir, id))) await runcQuiet(this.runc, ["--root", this.opts.stateDir, "delete", "--force", id]);
      running.delete(id);
      await prepared?.release();
      await removeStubs(req.rootfs, stubs).catch(() => undefined);
      await rm(bundle, { recursive: true, force: true });
    }
  }

  private exec(id: string, bundle: string, req: RunRequest): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.runc, ["--root", this.opts.stateDir, "run", "--bundle", bundle, id], { stdio: ["ignore", "pipe", "pipe"] });
      running.set(id, { stateDir: this.opts.stateDir, runc: this.runc });
      let killed: RunResult["killed"];
      let stderrTail = "";
      const kill = (why: "timeout" | "abort") => {
        if (killed) return;
        killed = why;
        void runcQuiet(this.runc, ["--root", this.opts.stateDir, "kill", id, "KILL"]).then(() => child.kill("SIGKILL"));
      };
      const timer = req.timeoutMs ? setTimeout(() => kill("timeout"), req.timeoutMs) : undefined;
      const onAbort = () => kill("abort");
      if (req.signal?.aborted) onAbort();
      req.signal?.addEventListener("abort", onAbort, { once: true });
      child.stdout.on("data", (d: Buffer) => req.onOutput?.("stdout", d));
      child.stderr.on("data", (d: Buffer) => {
        stderrTail = (stderrTail + d.toString()).slice(-2000);
        req.onOutput?.("stderr", d);
      });
      child.on("error", (e) => reject(new RuncError(`runc could not run: ${e.message} (install Debian's runc package)`)));
      child.on("close", (code, sig) => {
        if (timer) clearTimeout(timer);
        req.signal?.removeEventListener("abort", onAbort);
        if (killed) return resolve({ exitCode: 137, killed });
        if (code === null) return resolve({ exitCode: 128 + (sig ? (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[sig] ?? 1) : 1) });
        // runc itself failing before the process started (exit 1 with a runc error on stderr)
        if (code !== 0 && /^time=".*level=error msg=/m.test(stderrTail)) {
          return reject(new RuncError(`runc failed: ${stderrTail.trim().split("\n").pop()}`));
        }
        resolve({ exitCode: code });
      });
    });
  }
}
