/**
 * RUN --mount=type=cache directories, as BuildKit 0.13 keeps them (solver/llbsolver/mounts/mount.go,
 * dockerfile2llb/convert_runmount.go): which directory a mount gets, what a new one starts with,
 * and how runs share it.
 *
 * A cache is found by what BuildKit keys it by (its id and the snapshot it starts from). Its id is
 * BuildKit's: the namespace (BUILDKIT_CACHE_MOUNT_NS, "" when unset), "/" and the mount's id, one
 * string (so namespace `a` with id `b/c` is the cache of namespace `a/b` with id `c`, as in BuildKit),
 * for every kind below and every sharing:
 * - plain (`id`): an empty directory, 0755 root;
 * - with `mode`/`uid`/`gid` and no `source`: an empty directory with that mode (& 0777) and owner,
 *   another cache than the plain one of the same id (BuildKit starts it from a mkdir);
 * - with `from`: the source's whole root, copied in when the cache is new and then the cache's own,
 *   another cache for every source (and every version of it); `source` picks the path mounted
 *   (symlinks followed inside the root), and two mounts of other paths of one such cache see one
 *   tree. `mode`/`uid`/`gid` without `source` mount the source's `/cache` (made with that owner when
 *   the source has none), as BuildKit's mkdir on the source does. With `source`, they do nothing.
 * - `source` without `from`: a path of the plain cache, which an earlier run must have made.
 * A seeded cache is copied lazily: only the paths mounted so far (`seeded.json`), each once, never
 * over what a run changed (a later mount of a path above one copied before copies around it), so
 * what a mount sees is exactly what a whole copy would show, at the cost of what it shows.
 *
 * Sharing: shared (every run at once), private (the cache when no run has it, else a new one for
 * this run, started the same way and dropped after it), locked (one run at a time, across builds on
 * the store: lock files, taken in one order).
 */
import { mkdir, readFile, rm, chmod, chown, lstat } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { join, posix } from "node:path";
import { acquireFileLock, resolveInRoot, writeFileAtomic } from "@tsbuild/oci";
import { pinnedBind } from "./pinned-bind.js";

/** What a cache mount from a stage or image starts with (RUN --mount=type=cache,from=…). */
export interface CacheSeed {
  /** the source's root as a build sees it: another source, or another version of it, is another cache */
  identity: string;
  /** `path` of the source resolved inside its root (relative, "" for the root); throws when it is not there */
  resolve(path: string): Promise<string>;
  /** copies the source's `rel` with everything below it, but the paths in `except`, to the same path under `tree` */
  copy(tree: string, rel: string, except: readonly string[]): Promise<void>;
}

export interface CacheMount {
  type: "cache";
  target: string;
  id: string;
  /** BUILDKIT_CACHE_MOUNT_NS: the cache is BuildKit's `${namespace}/${id}` (undefined: "") */
  namespace?: string;
  sharing?: "shared" | "private" | "locked";
  readonly?: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
  /** the path mounted: of the seed's root with `seed`, else of the cache itself (undefined: its root) */
  source?: string;
  seed?: CacheSeed;
}

export class CacheMountError extends Error {
  override readonly name = "CacheMountError";
}

const clean = (p: string | undefined) => posix.normalize(`/${p ?? ""}`).replace(/^\/+|\/+$/g, "");
const hash = (...parts: (string | number)[]) => createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 24);

/** mode/uid/gid given and no source: the cache starts from a directory made with them */
function ownerGiven(m: CacheMount): boolean {
  return clean(m.source) === "" && (m.mode !== undefined || m.uid !== undefined || m.gid !== undefined);
}

/**
 * What names a cache's id in its directory name: BuildKit's id with its leading "/" dropped when it
 * has one (an id in no namespace, and so the names caches had before namespaces), else marked apart.
 */
function idParts(m: CacheMount): string[] {
  const full = `${m.namespace ?? ""}/${m.id}`;
  return full.startsWith("/") ? [full.slice(1)] : ["ns", full];
}

/** The cache's name in the cache root (its directory, its lock file). */
export function cacheName(m: CacheMount): string {
  const owner = [(m.mode ?? 0o755) & 0o777, m.uid ?? 0, m.gid ?? 0].map(String);
  const id = idParts(m);
  if (m.seed) return ownerGiven(m) ? hash("seed-owner", ...id, m.seed.identity, ...owner) : hash("seed", ...id, m.seed.identity);
  if (ownerGiven(m)) return hash("owner", ...id, ...owner);
  return hash(...id, 0, 0, "755"); // the name plain caches always had
}

/** cache directories (plain) or trees (seeded) mounted by a run of this process right now, and by how many */
const inUse = new Map<string, number>();

export interface PreparedCache {
  /** the directory (or file) to bind at the target */
  source: string;
  release(): Promise<void>;
}

async function exists(p: string): Promise<boolean> {
  return (await lstat(p).catch(() => undefined)) !== undefined;
}

/** Makes `dir` if it is not there; a new one gets `mode` and owner exactly (whatever the umask). */
async function makeDir(dir: string, mode: number, uid: number, gid: number): Promise<void> {
  if (await mkdir(dir, { recursive: true })) {
    await chmod(dir, mode);
    await chown(dir, uid, gid);
  }
}

/** The path `source` names inside a cache tree (symlinks followed inside it, relative); it must be there. */
async function inTree(tree: string, source: string, what: string): Promise<string> {
  const rel = await resolveInRoot(tree, clean(source));
  if (!(await exists(rel === "" ? tree : join(tree, rel)))) throw new CacheMountError(`cache mount source "/${clean(source)}" not found in ${what}`);
  return rel;
}

/**
 * Copies what the mount needs of its seed into `tree` unless a copy (of it or of a path above it)
 * was made before; returns the path to mount. `seeded` lists the paths copied so far.
 */
async function seedTree(m: CacheMount & { seed: CacheSeed }, tree: string, seeded: string[]): Promise<{ rel: string; seeded: string[] }> {
  const seed = m.seed;
  let wanted: string;
  let make = false;
  if (ownerGiven(m)) {
    // the source's /cache, or one made with the mount's owner where the source has none
    wanted = await seed.resolve("cache").catch(() => ((make = true), "cache"));
  } else {
    wanted = await seed.resolve(clean(m.source));
  }
  const covered = seeded.some((p) => p === "" || wanted === p || wanted.startsWith(`${p}/`));
  if (covered) return { rel: await inTree(tree, wanted, `cache "${m.id}"`), seeded };
  const except = seeded.filter((p) => wanted === "" || p.startsWith(`${wanted}/`));
  if (make) await makeDir(join(tree, wanted), (m.mode ?? 0o755) & 0o777, m.uid ?? 0, m.gid ?? 0);
  else await seed.copy(tree, wanted, except);
  return { rel: wanted, seeded: [...seeded.filter((p) => !except.includes(p)), wanted] };
}

async function readSeeded(file: string): Promise<string[]> {
  try {
    const v = JSON.parse(await readFile(file, "utf8")) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : [];
  } catch {
    return [];
  }
}

/**
 * The directory a cache mount binds for one run, and what releases it. `scratch` holds a private
 * run's own cache when the cache is in use. The caller holds the lock of a locked cache.
 */
export async function prepareCache(m: CacheMount, opts: { cacheRoot: string; scratch: string; signal?: AbortSignal }): Promise<PreparedCache> {
  const name = cacheName(m);
  const entry = join(opts.cacheRoot, name);
  // private, as BuildKit: the cache itself when no other run has it, else a new one of its own
  const own = m.sharing === "private" && (inUse.get(entry) ?? 0) > 0;
  const base = own ? join(opts.scratch, `cache-${name}-${randomBytes(6).toString("hex")}`) : entry;
  // the directory (the cache, or its tree) and the path in it to mount
  let dir: string;
  let rel: string;
  if (m.seed) {
    dir = join(base, "tree");
    const tree = dir;
    await makeDir(tree, 0o755, 0, 0);
    if (own) rel = (await seedTree({ ...m, seed: m.seed }, tree, [])).rel;
    else {
      // one seeding at a time per cache, across the builds on the store
      const release = await acquireFileLock(join(base, "seed.lock"), { timeoutMs: Infinity, ...(opts.signal ? { signal: opts.signal } : {}) });
      try {
        const file = join(base, "seeded.json");
        const before = await readSeeded(file);
        const r = await seedTree({ ...m, seed: m.seed }, tree, before);
        if (r.seeded !== before) await writeFileAtomic(file, JSON.stringify(r.seeded));
        rel = r.rel;
      } finally {
        release();
      }
    }
  } else {
    const owner = ownerGiven(m);
    dir = base;
    await makeDir(base, owner ? (m.mode ?? 0o755) & 0o777 : 0o755, owner ? (m.uid ?? 0) : 0, owner ? (m.gid ?? 0) : 0);
    rel = clean(m.source) === "" ? "" : await inTree(base, m.source as string, `cache "${m.id}"`);
  }
  // a path below the cache's directory is bound through what it is now (pinned-bind.ts): another
  // RUN holding the cache may be swapping its components for symlinks
  const pinned = rel === "" ? undefined : await pinnedBind(dir, rel, opts.scratch);
  const source = pinned?.path ?? dir;
  const unpin = async () => pinned?.release();
  if (own) return { source, release: async () => { await unpin(); await rm(base, { recursive: true, force: true }); } };
  inUse.set(entry, (inUse.get(entry) ?? 0) + 1);
  return {
    source,
    release: async () => {
      await unpin();
      if (inUse.get(entry) === 1) inUse.delete(entry);
      else inUse.set(entry, (inUse.get(entry) ?? 1) - 1);
    },
  };
}
