/**
 * The mounts a RUN step can ask for (`RUN --mount=…`), as typed inputs, turned into runtime-spec
 * mounts with BuildKit's options: bind (read-only unless asked), cache (cache-mounts.ts: a
 * persistent directory by id, maybe seeded from a stage or image; shared, private or locked),
 * tmpfs (nosuid, its size), and secret (a file bind-mounted read-only, nosuid, nodev, and noexec
 * unless its mode has an execute bit, from the run's own secrets tmpfs, secret-tmpfs.ts: never in a
 * layer, never on the store's disk), and ssh (ssh-proxy.ts: a socket of the RUN's own, owned and
 * moded as asked, forwarding to the build's agent; bound over an empty file runc makes, a stub).
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { acquireFileLock, type RuntimeMount } from "@tsbuild/oci";
import { mountSecretTmpfs, type SecretTmpfs } from "./secret-tmpfs.js";
import { cacheName, prepareCache, type CacheMount } from "./cache-mounts.js";
import { startSshProxy } from "./ssh-proxy.js";

export type RunMount =
  | { type: "bind"; target: string; source: string; readwrite?: boolean }
  | CacheMount
  | { type: "tmpfs"; target: string; size?: number; readonly?: boolean }
  | { type: "secret"; target: string; data: Buffer; mode?: number; uid?: number; gid?: number }
  /** `agent`: a host socket speaking the agent protocol; `readOnly`: only listing and signing reach it (ssh-proxy.ts) */
  | { type: "ssh"; target: string; agent: string; readOnly: boolean; mode: number; uid: number; gid: number };

export interface PreparedMounts {
  mounts: RuntimeMount[];
  /** the run's secrets tmpfs, when it has secrets (or asked for one) */
  secrets?: SecretTmpfs;
  release(): Promise<void>;
}

/**
 * @param opts.signal stops waiting for a locked cache (another build's RUN may hold it for minutes)
 * @param opts.secretsTmpfs make the secrets tmpfs even without secret files (for secrets in the env)
 */
export async function prepareRunMounts(list: RunMount[], opts: { cacheRoot: string; scratch: string; signal?: AbortSignal; secretsTmpfs?: boolean }): Promise<PreparedMounts> {
  const mounts: RuntimeMount[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let secretFs: SecretTmpfs | undefined;
  try {
    // every secret of the run on one tmpfs, mounted before anything else and released last
    const secrets = list.filter((m): m is Extract<RunMount, { type: "secret" }> => m.type === "secret");
    let secretFiles: string[] = [];
    if (secrets.length || opts.secretsTmpfs) {
      const fs = await mountSecretTmpfs(join(opts.scratch, "secrets"), secrets.map((m) => ({ data: m.data, mode: (m.mode ?? 0o400) & 0o777, uid: m.uid ?? 0, gid: m.gid ?? 0 })));
      cleanups.push(fs.release);
      secretFiles = fs.files;
      secretFs = fs;
    }
    // sharing=locked: one run at a time, in this process and in any other build on the store — a lock
    // file per cache (a dead owner's is taken over), waited for as long as the holder runs, as BuildKit
    // does; taken in one order, so two runs that lock the same caches cannot wait for each other
    const locked = [...new Set(list.flatMap((m) => (m.type === "cache" && m.sharing === "locked" ? [cacheName(m)] : [])))].sort();
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
          mounts.push({ destination: m.target, type: "tmpfs", source: "tmpfs", options: ["nosuid", ...(m.readonly ? ["ro"] : []), ...(m.size ? [`size=${m.size}`] : [])] });
          break;
        case "cache": {
          const c = await prepareCache(m, opts);
          cleanups.push(c.release);
          mounts.push({ destination: m.target, type: "bind", source: c.source, options: ["rbind", m.readonly ? "ro" : "rw"] });
          break;
        }
        case "ssh": {
          const dir = join(opts.scratch, "ssh");
          await mkdir(dir, { recursive: true, mode: 0o700 });
          const proxy = await startSshProxy(dir, String(list.indexOf(m)), m.agent, m);
          cleanups.push(proxy.close);
          mounts.push({ destination: m.target, type: "bind", source: proxy.path, options: ["rbind"] });
          break;
        }
        case "secret": {
          const noexec = ((m.mode ?? 0o400) & 0o111) === 0 ? ["noexec"] : [];
          mounts.push({ destination: m.target, type: "bind", source: secretFiles[secrets.indexOf(m)] as string, options: ["bind", "ro", "nodev", "nosuid", ...noexec] });
          break;
        }
      }
    }
  } catch (e) {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    throw e;
  }
  // parents before what is mounted below them, as BuildKit sorts a run's mounts by their destination
  mounts.sort((a, b) => (a.destination < b.destination ? -1 : a.destination > b.destination ? 1 : 0));
  return {
    mounts,
    ...(secretFs ? { secrets: secretFs } : {}),
    async release() {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    },
  };
}
