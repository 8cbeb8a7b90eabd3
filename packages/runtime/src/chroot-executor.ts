/**
 * `--isolation=chroot`: a RUN without namespaces, kaniko's trade for a pod that can make none (no
 * CAP_SYS_ADMIN, user namespaces refused). The process is coreutils' `chroot` into the step's root
 * (chroot(2) needs CAP_SYS_CHROOT: root in the container, which Docker and Kubernetes give by
 * default), as the RUN's user, with the RUN's environment and working directory. Opt-in only:
 * nothing here isolates processes, mounts, the network or the kernel — the RUN sees and can signal
 * the pod's processes, uses the pod's network, and has an empty /proc and /sys (nothing is mounted:
 * that needs CAP_SYS_ADMIN; the directories are made as runc makes them, so a RUN's layer is a
 * root build's); /dev gets the usual character devices (null, zero, full, random, urandom, tty)
 * while the RUN runs where CAP_MKNOD allows, removed after (the layer does not get them).
 *
 * RUN --mount and --network=none need namespaces and mounts: refused with ChrootIsolationError.
 */
import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { toolPath } from "@tsbuild/oci";
import type { Executor, RunRequest, RunResult } from "./executor.js";
import { processEnv } from "./process-env.js";
import { findStubs, removeStubs, type Stubs } from "./stubs.js";
import { resolveUser } from "./user.js";

/** A RUN that --isolation=chroot cannot give what it asks for. */
export class ChrootIsolationError extends Error {
  override readonly name = "ChrootIsolationError";
}

const DEVICES: [string, number, number][] = [["null", 1, 3], ["zero", 1, 5], ["full", 1, 7], ["random", 1, 8], ["urandom", 1, 9], ["tty", 5, 0]];

/**
 * The devices missing from ROOT/dev, made where CAP_MKNOD allows (not in a user namespace); noted as
 * mount stubs are (stubs.ts), so that after the RUN each one still there and empty goes, with /dev
 * when tsbuild made it, and the directories' times are put back: the layer does not get them.
 */
async function addDevices(root: string): Promise<Stubs> {
  // the mount points runc makes in the tree (and leaves there), made alike: a RUN's layer is the same
  for (const d of ["proc", "dev", "sys"]) await mkdir(join(root, d), { mode: 0o755 }).catch(() => undefined);
  const stubs = await findStubs(root, DEVICES.map(([name]) => `/dev/${name}`));
  if (!stubs.paths.length) return stubs;
  const made: string[] = [];
  // parents first (the reverse of deepest first), each path found through real directories only
  for (const rel of [...new Set(stubs.paths)].reverse()) {
    const dev = DEVICES.find(([name]) => rel === `dev/${name}`);
    try {
      if (!dev) await mkdir(join(root, rel), { mode: 0o755 });
      else execFileSync("mknod", ["-m", "666", join(root, rel), "c", String(dev[1]), String(dev[2])], { stdio: "ignore" });
      made.push(rel);
    } catch {
      // no CAP_MKNOD (or a user namespace): the RUN goes without it
    }
  }
  return { paths: stubs.paths.filter((p) => made.includes(p)), parentTimes: stubs.parentTimes };
}

export class ChrootExecutor implements Executor {
  async run(req: RunRequest): Promise<RunResult> {
    if (req.mounts?.length) throw new ChrootIsolationError(`RUN --mount needs mounts, which --isolation=chroot does not make (no namespaces): build with the default isolation (auto) where the pod allows user namespaces`);
    if (req.network === "none") throw new ChrootIsolationError(`RUN --network=none needs a network namespace, which --isolation=chroot does not make: build with the default isolation (auto)`);
    const chroot = toolPath("chroot");
    const user = await resolveUser(req.rootfs, req.user);
    const env = processEnv(req, user.home);
    const cwd = req.cwd ?? "/";
    const who = user.uid === 0 && user.gid === 0 && !user.additionalGids.length
      ? []
      : [`--userspec=${user.uid}:${user.gid}`, `--groups=${[user.gid, ...user.additionalGids].join(",")}`];
    // chroot(8) starts in the new /; the working directory is entered by the image's shell
    const argv = cwd === "/" ? req.args : ["/bin/sh", "-c", 'cd -- "$0" && exec "$@"', cwd, ...req.args];
    const devices = await addDevices(req.rootfs);
    try {
      return await this.exec(chroot, [...who, req.rootfs, ...argv], env, req);
    } finally {
      await removeStubs(req.rootfs, devices);
    }
  }

  private exec(chroot: string, args: string[], envList: string[], req: RunRequest): Promise<RunResult> {
    const env: NodeJS.ProcessEnv = {};
    for (const e of envList) {
      const i = e.indexOf("=");
      if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
    }
    return new Promise((resolve, reject) => {
      const child = spawn(chroot, args, { env, cwd: "/", stdio: ["ignore", "pipe", "pipe"], detached: true });
      let killed: RunResult["killed"];
      const kill = (why: "timeout" | "abort") => {
        if (killed || child.pid === undefined) return;
        killed = why;
        try {
          process.kill(-child.pid, "SIGKILL"); // its process group: what it started and did not move away
        } catch {
          // gone
        }
      };
      const timer = req.timeoutMs ? setTimeout(() => kill("timeout"), req.timeoutMs) : undefined;
      const onAbort = () => kill("abort");
      if (req.signal?.aborted) onAbort();
      req.signal?.addEventListener("abort", onAbort, { once: true });
      child.stdout.on("data", (d: Buffer) => req.onOutput?.("stdout", d));
      let stderrTail = "";
      child.stderr.on("data", (d: Buffer) => {
        stderrTail = (stderrTail + d.toString()).slice(-2000);
        req.onOutput?.("stderr", d);
      });
      child.on("error", (e) => reject(new ChrootIsolationError(`chroot could not run: ${e.message}`)));
      child.on("close", (code, sig) => {
        if (timer) clearTimeout(timer);
        req.signal?.removeEventListener("abort", onAbort);
        try {
          process.kill(-(child.pid as number), "SIGKILL"); // what it left running in its group ends with it, as with a container
        } catch {
          // none left
        }
        if (killed) return resolve({ exitCode: 137, killed });
        // chroot(8) itself: 125 when it failed (chroot(2) refused without CAP_SYS_CHROOT), 126/127 for the command
        if (code === 125 && /^chroot: cannot change root directory/m.test(stderrTail)) return reject(new ChrootIsolationError(`--isolation=chroot: chroot into the step's root failed (it needs root in the container with CAP_SYS_CHROOT, which Docker and Kubernetes give by default)`));
        resolve({ exitCode: code ?? 128 + (sig ? (({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[sig] ?? 1) : 1) });
      });
    });
  }
}
