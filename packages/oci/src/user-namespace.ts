/**
 * This process and the user namespace it runs in. A rootless build runs inside a user namespace
 * (and a pid and mount namespace of its own) that tsbuild's CLI makes for it (runtime's
 * `rootless/enter.ts`): its user is root there, mapped to the user outside; its pid is 1 there.
 * runc needs a /proc of that pid namespace, so the process mounts one on /proc (mountOwnProc,
 * before any container runs) and keeps the host's open as `hostProc()`: owner stamps, lock files
 * and session files name processes by their host pids (`procPid`), which every other tsbuild
 * process on the store (root, or another rootless build) can look up.
 */
import { constants, openSync, readFileSync, readlinkSync } from "node:fs";
import { spawnSync } from "node:child_process";

/** One line of /proc/PID/uid_map or gid_map: `count` ids from `inside` map to `outside`. */
export interface IdMapRange {
  inside: number;
  outside: number;
  count: number;
}

/** The lines of an id map (/proc/self/uid_map); empty when it cannot be read. */
export function readIdMap(file: string): IdMapRange[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").map((l) => l.trim().split(/\s+/).map(Number)).filter((f) => f.length === 3 && f.every(Number.isInteger))
    .map(([inside, outside, count]) => ({ inside: inside as number, outside: outside as number, count: count as number }));
}

let inNs: boolean | undefined;
/**
 * Whether this process runs in a user namespace other than the host's: its uid map is not the
 * whole identity map. There the kernel refuses device nodes and trusted.* xattrs, and overlayfs
 * keeps its whiteout markers in user.overlay.* xattrs (mounted with `userxattr`).
 */
export function inUserNamespace(): boolean {
  if (inNs === undefined) {
    const map = readIdMap("/proc/self/uid_map");
    inNs = !(map.length === 1 && map[0]?.inside === 0 && map[0].outside === 0 && map[0].count === 4294967295) && map.length > 0;
  }
  return inNs;
}

/** The environment variable by which tsbuild's re-exec tells the process inside what it made. */
export const USERNS_ENV = "TSBUILD_USERNS";

/** What the CLI's re-exec made (USERNS_ENV, JSON): who the user is outside, and its pid namespace. */
export interface EnteredUserNamespace {
  /** the user's ids outside (mapped to 0 inside) */
  uid: number;
  gid: number;
  /** the inode of the pid namespace the host's /proc belongs to (the one outside) */
  pidns?: string;
  /** the process that made the namespace (outside), and its start time: the build stops when it is gone */
  parent?: { pid: number; start?: string };
  /** subids: the user as 0 and its subordinate ranges from 1; single: the user as 0 only (default subids) */
  idMapping?: "subids" | "single";
  /** own: a pid namespace of the build's and one per RUN, each with its procfs; shared: no pid namespace, /proc bound (default own) */
  processSandbox?: "own" | "shared";
  /** why each was chosen (what `tsbuild info` and the isolation event say) */
  why?: { idMapping?: string; processSandbox?: string };
}

/** The namespace tsbuild's re-exec made, when this process runs in one (undefined otherwise). */
export function enteredUserNamespace(env: NodeJS.ProcessEnv = process.env): EnteredUserNamespace | undefined {
  const text = env[USERNS_ENV];
  if (!text || !inUserNamespace()) return undefined;
  try {
    const v = JSON.parse(text) as EnteredUserNamespace;
    return Number.isInteger(v.uid) && Number.isInteger(v.gid) ? v : undefined;
  } catch {
    return undefined;
  }
}

let hostProcDir = "/proc";
/** The /proc of the pid namespace outside (the host's): /proc, or in a rootless build the one mountOwnProc kept open. */
export function hostProc(): string {
  return hostProcDir;
}

/**
 * In a namespace tsbuild's re-exec made, mounts a /proc of its pid namespace on /proc (what runc
 * and the tools read), keeping the host's one reachable as hostProc() through a descriptor opened
 * before. Once; does nothing elsewhere. Throws when the mount fails.
 */
export function mountOwnProc(): void {
  if (hostProcDir !== "/proc" || !enteredUserNamespace() || process.pid !== 1) return;
  procPid(); // the host pid, read while /proc is the host's
  const fd = openSync("/proc", constants.O_RDONLY | constants.O_DIRECTORY);
  const r = spawnSync("mount", ["-t", "proc", "-o", "nosuid,nodev,noexec", "proc", "/proc"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`could not mount /proc in the rootless build's pid namespace: ${(r.stderr || r.error?.message || "").trim()}`);
  hostProcDir = `/proc/self/fd/${fd}`;
}

let pid: number | undefined;
/**
 * This process's pid in the host's /proc (hostProc): `process.pid`, except in a rootless build's
 * pid namespace (process.pid 1), where it is the host's pid.
 */
export function procPid(): number {
  if (pid === undefined) {
    const n = Number(readlinkSyncSafe(`${hostProcDir}/self`));
    pid = Number.isInteger(n) && n > 0 ? n : process.pid;
  }
  return pid;
}

function readlinkSyncSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

/** The inode of the pid namespace of /proc's pids (procPid's namespace), when it can be told. */
export function procPidNamespace(): string | undefined {
  const entered = enteredUserNamespace();
  if (entered?.pidns) return entered.pidns;
  return /\[(\d+)\]/.exec(readlinkSyncSafe("/proc/self/ns/pid") ?? "")?.[1];
}
