/**
 * The mounts a RUN step can ask for (`RUN --mount=…`), as typed inputs, turned into runtime-spec
 * mounts: bind (read-only unless asked), cache (a persistent directory by id, shared, private or
 * locked), tmpfs, and secret (a file bind-mounted read-only from the run's own secrets tmpfs,
 * secret-tmpfs.ts: never in a layer, never on the store's disk).
 */
import { mkdir, rm, chmod, chown } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { acquireFileLock, type RuntimeMount } from "@tsbuild/oci";
import { mountSecretTmpfs } from "./secret-tmpfs.js";

export type RunMount =
  | { type: "bind"; target: string; source: string; readwrite?: boolean }
  | { type: "cache"; target: string; id: string; sharing?: "shared" | "private" | "locked"; readonly?: boolean; mode?: number; uid?: number; gid?: number }
  | { type: "tmpfs"; target: string; size?: number; readonly?: boolean }
  | { type: "secret"; target: string; data: Buffer; mode?: number; uid?: number; gid?: number };

export interface PreparedMounts {
  mounts: RuntimeMount[];
  release(): Promise<void>;
}

/** cache directories mounted by a run of this process right now, and by how many */
const inUse = new Map<string, number>();

/** A cache's directory name: as BuildKit, caches with the same id but other owner or mode are separate caches. */
function cacheDirName(m: Extract<RunMount, { type: "cache" }>): string {
  return createHash("sha256").update(`${m.id}\0${m.uid ?? 0}\0${m.gid ?? 0}\0${(m.mode ?? 0o755).toString(8)}`).digest("hex").slice(0, 24);
}

/**
 * @param opts.signal stops waiting for a locked cache (another build's RUN may hold it for minutes)
 */
export async function prepareRunMounts(list: RunMount[], opts: { cacheRoot: string; scratch: string; signal?: AbortSignal }): Promise<PreparedMounts> {
  const mounts: RuntimeMount[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  try {
    // every secret of the run on one tmpfs, mounted before anything else and released last
    const secrets = list.filter((m): m is Extract<RunMount, { type: "secret" }> => m.type === "secret");
    let secretFiles: string[] = [];
    if (secrets.length) {
      const fs = await mountSecretTmpfs(join(opts.scratch, "secrets"), secrets.map((m) => ({ data: m.data, mode: m.mode ?? 0o400, uid: m.uid ?? 0, gid: m.gid ?? 0 })));
      cleanups.push(fs.release);
      secretFiles = fs.files;
    }
    // sharing=locked: one run at a time, in this process and in any other build on the store — a lock
    // file per cache (a dead owner's is taken over), waited for as long as the holder runs, as BuildKit
    // does; taken in one order, so two runs that lock the same caches cannot wait for each other
    const locked = [...new Set(list.flatMap((m) => (m.type === "cache" && m.sharing === "locked" ? [cacheDirName(m)] : [])))].sort();
    if (locked.length) await mkdir(opts.cacheRoot, { recursive: true });
    for (const id of locked) {
      const release = await acquireFileLock(join(opts.cacheRoot, `${id}.lock`), { timeoutMs: Infinity, ...(opts.signal ? { signal: opts.signal } : {}) });
      cleanups.push(async () => release());
    }
    for (const m of list) {
      switch (m.type) {
        case "bind":
          mounts.push({ destination: m.target, type: "bind", source: m.source, options: ["rbind", m.readwrite ? "rw" : "ro"] });
          break;
        case "tmpfs":
          mounts.push({ destination: m.target, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", ...(m.size ? [`size=${m.size}`] : []), ...(m.readonly ? ["ro"] : [])] });
          break;
        case "cache": {
          const id = cacheDirName(m);
          let dir = join(opts.cacheRoot, id);
          // private, as BuildKit: the cache itself when no other run has it, else a fresh throwaway one
          const throwaway = m.sharing === "private" && (inUse.get(dir) ?? 0) > 0;
          if (throwaway) dir = join(opts.scratch, `cache-${id}-${Math.random().toString(36).slice(2)}`);
          const fresh = await mkdir(dir, { recursive: true });
          if (fresh) {
            await chmod(dir, m.mode ?? 0o755);
            await chown(dir, m.uid ?? 0, m.gid ?? 0);
          }
          if (throwaway) cleanups.push(() => rm(dir, { recursive: true, force: true }));
          else {
            const held = dir;
            inUse.set(held, (inUse.get(held) ?? 0) + 1);
            cleanups.push(async () => void (inUse.get(held) === 1 ? inUse.delete(held) : inUse.set(held, (inUse.get(held) ?? 1) - 1)));
          }
          mounts.push({ destination: m.target, type: "bind", source: dir, options: ["rbind", m.readonly ? "ro" : "rw"] });
          break;
        }
        case "secret":
          mounts.push({ destination: m.target, type: "bind", source: secretFiles[secrets.indexOf(m)] as string, options: ["bind", "ro"] });
          break;
      }
    }
  } catch (e) {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    throw e;
  }
  return {
    mounts,
    async release() {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    },
  };
}
