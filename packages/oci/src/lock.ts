import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { readFile, rm, stat } from "node:fs/promises";
import { hostProc, procPid } from "./user-namespace.js";

export interface FileLockOptions {
  /** a lock file whose owner pid cannot be read (its writer died mid-create) is taken over after this long */
  staleMs?: number;
  /** give up waiting after this long */
  timeoutMs?: number;
  /** stop waiting when this aborts (throws its reason) */
  signal?: AbortSignal;
}

/**
 * Whether a process with this pid (as /proc names it) exists (EPERM: it exists, owned by someone
 * else). In a rootless build's pid namespace, where /proc is the host's (user-namespace.ts), kill()
 * would look the pid up in the wrong namespace: /proc says.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (procPid() !== process.pid) return existsSync(`${hostProc()}/${pid}/stat`);
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** When process `pid` (a host pid, procPid's) started (clock ticks since boot, /proc/PID/stat field 22), or undefined if it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`${hostProc()}/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

let self: string | undefined;
/** What a lock file says of its owner: "PID START", so that a pid used again by another process is not its owner. */
function ownerText(): string {
  self ??= `${procPid()} ${processStartTime(procPid()) ?? ""}`.trim();
  return self;
}

/** Whether the owner a lock file names is running: its pid exists and, when the file says, started when it did. */
function ownerAlive(text: string): boolean {
  const [pid, start] = text.split(" ");
  return processAlive(Number(pid), start);
}

/** Whether process `pid` runs and, when `start` is given, is the one that started then (not a later user of the pid). */
export function processAlive(pid: number, start?: string): boolean {
  if (!pidAlive(pid)) return false;
  const now = start === undefined ? undefined : processStartTime(pid);
  return now === undefined || now === start;
}

/**
 * A simple cross-process lock file (O_EXCL create holding the owner's pid and start time). A lock whose owner pid
 * is gone is taken over at once, so a killed process does not block the store; a live owner is
 * waited for however long it holds the lock (a prune may hold the store's gc lock for minutes).
 * Taking over goes through a second lock (`PATH.break`, see breakStale): two waiters that both saw
 * the dead owner must not both remove "the stale lock", the second removing the first one's fresh lock.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, opts: FileLockOptions | number = {}): Promise<T> {
  const release = await acquireFileLock(path, opts);
  try {
    return await fn();
  } finally {
    release();
  }
}

/** Takes the lock file as withFileLock does and returns what releases it (for a lock held across calls). */
export async function acquireFileLock(path: string, opts: FileLockOptions | number = {}): Promise<() => void> {
  const { staleMs = 30_000, timeoutMs = 120_000, signal } = typeof opts === "number" ? { staleMs: opts } : opts;
  const start = Date.now();
  for (;;) {
    signal?.throwIfAborted();
    if (tryCreate(path)) break;
    if (await lockIsStale(path, staleMs)) await breakStale(path, staleMs);
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for lock ${path} (held by pid ${(await readOwner(path))?.split(" ")[0]}; remove the file if no tsbuild is running)`);
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
  }
  return () => rmSync(path, { force: true });
}

/**
 * Removes the lock at `path` if it is still stale when looked at again under `PATH.break` (taken
 * O_EXCL): whoever removes a stale lock holds the break lock while it checks and removes, so a lock
 * taken meanwhile by a live process is seen as live and left alone. A break lock whose owner died in
 * those few calls is removed like any lock with a dead owner (by check-then-remove: two waiters racing
 * on a dead breaker's lock could still both break; that needs a process killed inside these calls).
 * Owners are told apart by pid and start time within this pid namespace: builds in other pid
 * namespaces (containers) sharing one store are not told apart.
 */
async function breakStale(path: string, staleMs: number): Promise<void> {
  const brk = `${path}.break`;
  if (!tryCreate(brk)) {
    if (await lockIsStale(brk, staleMs)) await rm(brk, { force: true });
    return; // someone else is breaking it: wait and try again
  }
  try {
    if (await lockIsStale(path, staleMs)) await rm(path, { force: true });
  } finally {
    rmSync(brk, { force: true });
  }
}

/**
 * Creates the lock file holding our pid; false when it exists. Synchronous: taking a free lock is three
 * tiny local calls, cheaper than three trips through libuv's thread pool (a no-op rebuild takes the gc
 * lock once per cached step).
 */
function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return false;
  }
  try {
    writeSync(fd, ownerText());
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The owner a lock file names ("PID" or "PID START"), or undefined while it is being written. */
async function readOwner(path: string): Promise<string | undefined> {
  const text = (await readFile(path, "utf8").catch(() => "")).trim();
  return /^\d+( \d+)?$/.test(text) ? text : undefined;
}

async function lockIsStale(path: string, staleMs: number): Promise<boolean> {
  const s = await stat(path).catch(() => undefined);
  if (!s) return false;
  const owner = await readOwner(path);
  if (owner !== undefined) return !ownerAlive(owner);
  return Date.now() - s.mtimeMs > staleMs;
}
