/**
 * Making a rootless build's namespaces. Node cannot unshare itself (it has threads), so a process
 * that is not root runs its work again inside new namespaces, as rootlesskit and `buildah unshare`
 * do: util-linux's `unshare` makes a user, mount (private propagation) and pid namespace and forks a
 * shell there, which says it is ready and waits; this process then maps the namespace's ids with
 * shadow's setuid `newuidmap`/`newgidmap` (the user as 0, its /etc/subuid and /etc/subgid ranges from
 * 1 on: util-linux 2.38's --map-users takes one range only, not the user and a range) and tells the
 * shell to go on, which execs the command as root of the namespace.
 *
 * The pid namespace makes a killed build leave nothing running: its first process (the command) is
 * killed with `unshare` (--kill-child), and when it dies the kernel kills every process in the
 * namespace, RUN containers and all (their ids may be subordinate ones no other process of the
 * user can signal); its mounts go with the mount namespace. The host's /proc is kept, so pids in the
 * store's owner stamps and locks are the host's (@tsbuild/oci user-namespace.ts). The command
 * watches the process that made the namespace (USERNS_ENV's parent) and stops as if sent SIGTERM
 * when it is gone (watchEnteringProcess).
 */
import { spawn, type StdioOptions } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import {
  enteredUserNamespace, inUserNamespace, processAlive, processStartTime, procPid, readIdMap, procPidNamespace, toolPath, USERNS_ENV,
  type EnteredUserNamespace, type IdMapRange,
} from "@tsbuild/oci";
import { mappedIds, namespaceMap, subordinateRanges } from "./subids.js";
import { chooseIdMapping, detectUserNamespaceSupport, hasSysAdmin, POD_NEEDS, type IdMappingChoice, type ProcessSandbox } from "./detect.js";

/** A rootless build cannot be set up here; the message says what the host (or the pod) needs. */
export class RootlessSetupError extends Error {
  override readonly name = "RootlessSetupError";
}

/** The namespace a rootless build of this user gets. */
export interface UserNamespacePlan {
  user: string;
  uid: number;
  gid: number;
  uidMap: IdMapRange[];
  gidMap: IdMapRange[];
}

/**
 * Whether this process must enter a user namespace before it builds: it is not root (of the host or
 * of a user namespace already), or it is root without CAP_SYS_ADMIN (root in a pod without added
 * capabilities: runc could make no namespace nor mount).
 */
export function needsUserNamespace(): boolean {
  if (typeof process.getuid !== "function") return false;
  return process.getuid() !== 0 || !hasSysAdmin();
}

function userName(uid: number): string | undefined {
  try {
    return userInfo().username;
  } catch {
    // no passwd entry: /etc/subuid may still name the uid
    void uid;
    return undefined;
  }
}

const SUBID_HINT = (user: string) => `as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user} (any free range of 65536 ids)`;

/** The maps for this user, from /etc/subuid and /etc/subgid; RootlessSetupError when it has no range. */
export function planUserNamespace(files: { subuid?: string; subgid?: string } = {}): UserNamespacePlan {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const name = userName(uid);
  const label = name ?? String(uid);
  const uids = subordinateRanges(files.subuid ?? "/etc/subuid", { ...(name ? { name } : {}), id: uid });
  const gids = subordinateRanges(files.subgid ?? "/etc/subgid", { ...(name ? { name } : {}), id: gid });
  if (!uids.length) throw new RootlessSetupError(`rootless builds need subordinate uids, and ${label} has none in /etc/subuid: add a range (${SUBID_HINT(label)})`);
  if (!gids.length) throw new RootlessSetupError(`rootless builds need subordinate gids, and ${label} has none in /etc/subgid: add a range (${SUBID_HINT(label)})`);
  const plan = { user: label, uid, gid, uidMap: namespaceMap(uid, uids), gidMap: namespaceMap(gid, gids) };
  if (mappedIds(plan.uidMap) < 2 || mappedIds(plan.gidMap) < 2) throw new RootlessSetupError(`the subordinate ids of ${label} in /etc/subuid or /etc/subgid contain its own id only: add another range (${SUBID_HINT(label)})`);
  return plan;
}

/** The shell inside: says it is ready (fd 4), waits to be told "go" (fd 3), closes both, execs the command. */
const INSIDE = 'echo ready >&4 || exit 125; read go <&3 || exit 125; [ "$go" = go ] || exit 125; exec 3<&- 4>&-; exec "$@"';

const mapArgs = (map: IdMapRange[]) => map.flatMap((r) => [String(r.inside), String(r.outside), String(r.count)]);

function runTool(path: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(path, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    c.on("error", (e) => resolve({ code: 127, stderr: e.message }));
    c.on("close", (code) => resolve({ code: code ?? 1, stderr }));
  });
}

/** The first process inside (the shell, then the command): the child of `unshare`, by its host pid. */
function insidePid(unsharePid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, "utf8").trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

export interface RunInUserNamespaceOptions {
  env?: NodeJS.ProcessEnv;
  /** the command's standard streams (default: this process's) */
  stdio?: [StdioOptions, StdioOptions, StdioOptions] | ["inherit", "inherit", "inherit"];
  plan?: UserNamespacePlan;
}

/**
 * Runs `command args` as root of a new user namespace with a mount namespace (and, where the kernel
 * lets RUN have a procfs of its own, a pid namespace) of its own, and resolves to its exit code
 * (128+n for a signal). The ids are the best detect.ts finds: the user as 0 and its subordinate ids
 * from 1 (newuidmap), else the user as 0 only; when newuidmap fails, the namespace is made again
 * with the user only. SIGINT and SIGTERM to this process are passed on to it. RootlessSetupError,
 * naming what the pod or host needs, when no user namespace can be made.
 */
export async function runInUserNamespace(command: string, args: string[], opts: RunInUserNamespaceOptions = {}): Promise<number> {
  const support = detectUserNamespaceSupport();
  if (!support.ok) throw new RootlessSetupError(noNamespaceMessage(support.why));
  let choice: IdMappingChoice = opts.plan ? { mapping: "subids", why: "the user as 0, its subordinate ids from 1", plan: opts.plan } : chooseIdMapping(support.seccomp);
  for (;;) {
    const r = await enterOnce(command, args, opts, choice, support.processSandbox, support.processSandboxWhy);
    if (typeof r === "number") return r;
    // newuidmap refused (a container without setuid, a range it will not map): the user only
    if (choice.mapping === "single") throw new RootlessSetupError(r.failed);
    choice = { mapping: "single", why: `the user only, as 0 (${r.failed})` };
  }
}

/** The message when no user namespace can be made: why, and what the pod needs. */
export function noNamespaceMessage(why: string): string {
  const uid = process.getuid?.() ?? -1;
  return `cannot isolate RUN steps here: tsbuild runs as uid ${uid} without the capabilities to make namespaces, and no user namespace can be made (${why}). The pod (or host) needs one of: ${POD_NEEDS.join("; ")}`;
}

async function enterOnce(
  command: string, args: string[], opts: RunInUserNamespaceOptions, choice: IdMappingChoice, sandbox: ProcessSandbox, sandboxWhy: string,
): Promise<number | { failed: string }> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const user = choice.plan?.user ?? userName(uid) ?? String(uid);
  const unshare = toolPath("unshare");
  const me = procPid();
  const entered: EnteredUserNamespace = {
    uid, gid,
    ...(procPidNamespace() ? { pidns: procPidNamespace() as string } : {}),
    parent: { pid: me, ...(processStartTime(me) ? { start: processStartTime(me) as string } : {}) },
    idMapping: choice.mapping, processSandbox: sandbox, why: { idMapping: choice.why, processSandbox: sandboxWhy },
  };
  const env = { ...(opts.env ?? process.env), [USERNS_ENV]: JSON.stringify(entered) };
  const [i, o, e] = opts.stdio ?? ["inherit", "inherit", "inherit"];
  const nsFlags = ["--user", "--mount", ...(sandbox === "own" ? ["--pid"] : []), "--fork", "--kill-child", "--propagation", "private"];
  const child = spawn(unshare, [...nsFlags, "--", "/bin/sh", "-c", INSIDE, "sh", command, ...args], {
    env, stdio: [i as "inherit", o as "inherit", e as "inherit", "pipe", "pipe"],
  });
  const exited = new Promise<number>((resolve) => {
    child.on("error", () => resolve(127));
    child.on("close", (code, sig) => resolve(code ?? 128 + (sig ? (SIGNALS[sig] ?? 1) : 1)));
  });
  const control = child.stdio[3] as unknown as NodeJS.WritableStream;
  const ready = child.stdio[4] as NodeJS.ReadableStream;
  const isReady = new Promise<boolean>((resolve) => {
    ready.once("data", () => resolve(true));
    ready.once("end", () => resolve(false));
    ready.once("error", () => resolve(false));
  });
  const first = await Promise.race([isReady, exited.then(() => false)]);
  if (!first || child.pid === undefined) {
    child.kill("SIGKILL");
    const code = await exited;
    throw new RootlessSetupError(noNamespaceMessage(`unshare exited ${code}`));
  }
  const mapped = choice.mapping === "subids" && choice.plan
    ? await mapSubordinate(child.pid, choice.plan)
    : mapSingle(child.pid, uid, gid, user);
  if (mapped) {
    child.kill("SIGKILL");
    await exited;
    return { failed: mapped };
  }
  control.write("go\n");
  const forward = (sig: NodeJS.Signals) => {
    const pid = insidePid(child.pid as number);
    if (pid) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone already
      }
    }
  };
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  try {
    return await exited;
  } finally {
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
  }
}

/** Maps the user and its ranges with newuidmap/newgidmap; why not, when they refuse. */
async function mapSubordinate(pid: number, plan: UserNamespacePlan): Promise<string | undefined> {
  for (const [tool, map, what] of [["newuidmap", plan.uidMap, "uid"], ["newgidmap", plan.gidMap, "gid"]] as const) {
    const path = toolPath(tool);
    const r = await runTool(path, [String(pid), ...mapArgs(map)]);
    if (r.code !== 0) {
      return `${tool} could not map the ${what}s of ${plan.user} (${r.stderr.trim() || `exit ${r.code}`}): check its ranges in /etc/sub${what} and that ${path} is setuid root (Debian's uidmap package); in a container, the runtime must allow setuid binaries (no no_new_privs: allowPrivilegeEscalation) and user namespaces`;
    }
  }
  return undefined;
}

/** Maps the user (and its group) as 0 only, as `unshare --map-root-user` does: setgroups denied, then the maps; why not, when refused. */
function mapSingle(pid: number, uid: number, gid: number, user: string): string | undefined {
  try {
    writeFileSync(`/proc/${pid}/uid_map`, `0 ${uid} 1\n`);
    writeFileSync(`/proc/${pid}/setgroups`, "deny\n");
    writeFileSync(`/proc/${pid}/gid_map`, `0 ${gid} 1\n`);
    return undefined;
  } catch (e) {
    return `could not map ${user} as 0 in its user namespace: ${(e as Error).message}`;
  }
}

let watching: NodeJS.Timeout | undefined;
/**
 * Inside a namespace made by runInUserNamespace: stops this process as SIGTERM would (its handlers
 * run: a build kills its containers and unmounts) once the process that made the namespace is gone
 * (killed with SIGKILL, say); without a handler, it exits 143. Checked every 250 ms, never keeping
 * the process alive. Does nothing elsewhere.
 */
export function watchEnteringProcess(): void {
  const parent = enteredUserNamespace()?.parent;
  if (!parent || watching) return;
  watching = setInterval(() => {
    if (processAlive(parent.pid, parent.start)) return;
    clearInterval(watching);
    if (process.listenerCount("SIGTERM") > 0) process.emit("SIGTERM", "SIGTERM");
    else process.exit(143);
  }, 250);
  watching.unref();
}

/** What `tsbuild info` says of the user namespace this process runs in. */
export function userNamespaceSummary(): { inside: boolean; uidMap: IdMapRange[]; gidMap: IdMapRange[] } {
  return { inside: inUserNamespace(), uidMap: readIdMap("/proc/self/uid_map"), gidMap: readIdMap("/proc/self/gid_map") };
}
