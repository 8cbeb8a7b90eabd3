/**
 * Who is using the store right now, so garbage collection never removes what a running build needs.
 *
 * The protocol (one lock, one file per running build):
 * - `<root>/locks/gc.lock` is the store's gc lock. `tsbuild prune` holds it for its whole removal
 *   phase; everything below that registers or protects something takes it briefly, so each such
 *   step happens either wholly before a prune or wholly after it.
 * - A build starts a session: `<root>/locks/sessions/<PID.START>-<random>.json` (owner-stamp.ts),
 *   created atomically under the gc lock with one JSON line (pid, process start, ISO start time, kind); each `hold()` then appends one JSON line
 *   (under the gc lock) naming what the build protects: blob digests (layers it reuses from the
 *   cache) and committed snapshot names (what it mounts or unpacks). Appends are not fsync'ed: a
 *   session means nothing after a crash (its pid is gone), it only has to be visible to a prune
 *   running now, and a prune reads it under the same lock. A prune
 *   treats every blob written after the oldest live session started as in use (a build's new
 *   layers, configs and manifests are unnamed until it ends), keeps every held digest and every
 *   held snapshot with its parent chain, and leaves the scratch dirs, ingest files, active
 *   snapshots and cache mounts of live sessions alone.
 * - `hold()` is called BEFORE the caller checks that the thing exists: if a prune removed it just
 *   before, the caller sees it missing and recreates it (a cache miss, a fresh unpack); if not, the
 *   hold is on disk before any later prune looks.
 * - A session whose process is dead (pid gone, or used again by a process started later) is ignored,
 *   and its file removed by the next build or prune: a killed build protects nothing.
 */
import { closeSync, constants as fsConstants, mkdirSync, openSync, readdirSync, writeSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { processAlive, processStartTime, withFileLock } from "./lock.js";
import { procPid } from "./user-namespace.js";
import { OwnerCheck, ownerStamp } from "./owner-stamp.js";
import type { Digest } from "./digest.js";

export interface SessionRecord {
  pid: number;
  /** the process's start time (/proc/PID/stat field 22; absent in files of older versions) */
  start?: string;
  /** ISO time the session started */
  started: string;
  /** what the session is: "build", "pull", … (for messages) */
  kind: string;
  digests: Digest[];
  snapshots: string[];
}

/** Builds wait for a running prune up to an hour (a prune of a large store takes a while). */
const GC_LOCK_TIMEOUT_MS = 3_600_000;

function sessionsDir(root: string): string {
  return join(root, "locks", "sessions");
}

/** Runs `fn` holding the store's gc lock. */
export async function withGcLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(join(root, "locks"), { recursive: true });
  return withFileLock(join(root, "locks", "gc.lock"), fn, { timeoutMs: GC_LOCK_TIMEOUT_MS });
}

export class StoreSession {
  private readonly digests = new Set<Digest>();
  private readonly snapshots = new Set<string>();
  private ended = false;

  private constructor(
    private readonly root: string,
    private readonly file: string,
    private readonly record: Pick<SessionRecord, "pid" | "start" | "started" | "kind">,
  ) {}

  /** Registers a session (waits while a prune is removing things). */
  static async start(root: string, kind: string): Promise<StoreSession> {
    const file = join(sessionsDir(root), `${ownerStamp()}-${randomBytes(6).toString("hex")}.json`);
    const start = processStartTime(procPid());
    const s = new StoreSession(root, file, { pid: procPid(), ...(start !== undefined ? { start } : {}), started: new Date().toISOString(), kind });
    await mkdir(sessionsDir(root), { recursive: true });
    await withGcLock(root, () => s.create());
    return s;
  }

  /** Protects blobs and committed snapshots from prune until the session ends; call before checking they exist. */
  async hold(what: { digests?: Iterable<Digest>; snapshots?: Iterable<string> }): Promise<void> {
    if (this.ended) throw new Error("store session already ended");
    const digests = [...(what.digests ?? [])].filter((d) => !this.digests.has(d));
    const snapshots = [...(what.snapshots ?? [])].filter((n) => !this.snapshots.has(n));
    if (!digests.length && !snapshots.length) return;
    await withGcLock(this.root, async () => {
      for (const d of digests) this.digests.add(d);
      for (const n of snapshots) this.snapshots.add(n);
      try {
        // no O_CREAT: appending to a file someone removed would make one without its pid line,
        // which every prune takes for a dead session's
        const fd = openSync(this.file, fsConstants.O_WRONLY | fsConstants.O_APPEND);
        try {
          writeSync(fd, JSON.stringify({ digests, snapshots }) + "\n");
        } finally {
          closeSync(fd);
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        await this.create(); // removed meanwhile: written again whole, with all it holds
      }
    });
  }

  /** Ends the session: nothing it held is protected any more (name the image before). */
  async end(): Promise<void> {
    this.ended = true;
    await rm(this.file, { force: true });
  }

  /** The first line (and what is held so far), renamed into place so a reader never sees a session without its pid. */
  private async create(): Promise<void> {
    const tmp = join(sessionsDir(this.root), `.tmp-${ownerStamp()}-${randomBytes(6).toString("hex")}`);
    const held = this.digests.size || this.snapshots.size ? JSON.stringify({ digests: [...this.digests], snapshots: [...this.snapshots] }) + "\n" : "";
    await mkdir(sessionsDir(this.root), { recursive: true });
    await writeFile(tmp, JSON.stringify(this.record) + "\n" + held);
    await rename(tmp, this.file);
  }
}

/** A session file: its first line (pid, started, kind), then one line per hold. */
function parseSession(text: string): SessionRecord | undefined {
  const lines = text.split("\n");
  let rec: SessionRecord | undefined;
  try {
    const head = JSON.parse(lines[0]!) as Pick<SessionRecord, "pid" | "start" | "started" | "kind">;
    rec = { pid: head.pid, ...(typeof head.start === "string" ? { start: head.start } : {}), started: head.started, kind: head.kind, digests: [], snapshots: [] };
  } catch {
    return undefined; // created by a rename: an unreadable one is not ours
  }
  for (const line of lines.slice(1)) {
    if (!line) continue;
    try {
      const held = JSON.parse(line) as Partial<Pick<SessionRecord, "digests" | "snapshots">>;
      rec.digests.push(...(held.digests ?? []));
      rec.snapshots.push(...(held.snapshots ?? []));
    } catch {
      // a line being appended right now by a reader that does not hold the gc lock (du): skip it
    }
  }
  return rec;
}

/**
 * The sessions whose process is alive. With `removeDead`, the files of dead ones are deleted
 * (call it holding the gc lock).
 */
export async function liveSessions(root: string, removeDead = false): Promise<SessionRecord[]> {
  const dir = sessionsDir(root);
  const out: SessionRecord[] = [];
  const owners = new OwnerCheck();
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (!n.endsWith(".json")) continue;
    const rec = parseSession(await readFile(join(dir, n), "utf8").catch(() => ""));
    // the name's stamp knows the owner's pid namespace (a build in another container is live)
    const named = owners.state(n.replace(/\.json$/, ""));
    if (rec && (named === "unowned" ? processAlive(rec.pid, rec.start) : named === "live")) out.push(rec);
    else if (removeDead && !n.startsWith(".tmp-")) await rm(join(dir, n), { force: true });
  }
  return out;
}

/**
 * The session files (and half-made ones) of dead processes, judged by the owner stamp in their names
 * alone (no file is read): one readdir, synchronous (cheaper than a trip through libuv's thread pool
 * when, as nearly always, there is nothing to remove).
 */
export function deadSessionFiles(root: string, owners: OwnerCheck): string[] {
  const dir = sessionsDir(root);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => owners.state(n.replace(/\.json$/, "")) === "dead").map((n) => join(dir, n));
}
