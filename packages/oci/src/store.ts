/**
 * The store as a whole (DESIGN.md): content, image names, leases that protect blobs of builds in
 * progress and caches, garbage collection and verification.
 */
import { chmod, mkdir, readdir, readFile, rm, mkdtemp, stat } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { homedir } from "node:os";
import { LocalContentStore, type BlobInfo } from "./content-store.js";
import { LocalImageStore } from "./image-store.js";
import { writeFileAtomic } from "./fs-atomic.js";
import { isDigest, type Digest } from "./digest.js";
import { isIndexMediaType, isManifestMediaType } from "./media-types.js";
import { looksLikeIndex, parseIndex, parseManifest } from "./validate.js";
import { StoreSession, withGcLock } from "./store-sessions.js";
import type { Descriptor } from "./types/image.js";
import { ownerStamp } from "./owner-stamp.js";
import { enteredUserNamespace } from "./user-namespace.js";

/** TSBUILD_ROOT, else /var/lib/tsbuild as root, else $XDG_DATA_HOME/tsbuild (~/.local/share/tsbuild). */
export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSBUILD_ROOT) return env.TSBUILD_ROOT;
  // root of a rootless build's namespace is the user outside: the user's store
  if (typeof process.getuid === "function" && process.getuid() === 0 && !enteredUserNamespace(env)) return "/var/lib/tsbuild";
  return join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "tsbuild");
}

export interface Lease {
  id: string;
  digests: Digest[];
  /** ISO time; a lease older than its expiry no longer protects anything */
  expires?: string;
}

export interface GcOptions {
  /** blobs to keep besides those of image names and leases (e.g. what running builds hold) */
  keep?: Iterable<Digest>;
  /** keep every blob written at or after this time (ms): unnamed output of builds still running */
  keepWrittenSince?: number;
}

export interface CheckReport {
  blobs: number;
  corrupt: Digest[];
  missing: { name: string; digest: Digest }[];
  repaired: boolean;
}

/** Store directories no other user may enter. */
const PRIVATE_DIRS = ["tmp", "snapshots", "cache", "runc"];

/**
 * The store's on-disk format (ROOT/format, written when a store is made): bumped when the layout
 * changes so that an older tsbuild would misread it; a store of a newer format is refused.
 */
export const STORE_FORMAT = 1;

/** The store was made by a newer tsbuild, in a format this one does not read. */
export class StoreFormatError extends Error {
  override readonly name = "StoreFormatError";
}

async function checkFormat(root: string): Promise<void> {
  const file = join(root, "format");
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? undefined : Promise.reject(e)));
  if (text === undefined) return writeFileAtomic(file, `${STORE_FORMAT}\n`);
  const format = Number(text.trim());
  if (!Number.isInteger(format) || format > STORE_FORMAT) {
    throw new StoreFormatError(`the store ${root} has format ${text.trim()}, which this tsbuild (store format ${STORE_FORMAT}) cannot read: use a newer tsbuild, or another store (--root)`);
  }
}

export class Store {
  readonly content: LocalContentStore;
  readonly images: LocalImageStore;

  private constructor(readonly root: string) {
    this.content = new LocalContentStore(root);
    this.images = new LocalImageStore(root);
  }

  /** @param root made absolute (runc and the overlay mounts need absolute paths) */
  static async open(rootDir: string): Promise<Store> {
    const root = resolve(rootDir);
    for (const d of ["blobs/sha256", "blobs/ingest", "refs", "tmp", "locks", "leases", "snapshots", "cache", "runc"]) {
      await mkdir(join(root, d), { recursive: true });
    }
    // where image trees are unpacked, mounted or made (snapshots, build scratch, RUN cache mounts,
    // runc bundles) is for the store's owner alone: an image's device nodes and setuid files must not
    // be reachable by other users of the host (as docker and containerd keep their roots 0700/0711)
    for (const d of PRIVATE_DIRS) await chmod(join(root, d), 0o700).catch(() => undefined);
    await checkFormat(root);
    return new Store(root);
  }

  /**
   * A fresh scratch directory under <root>/tmp (the caller removes it), stamped with its owner
   * (`build-PID.START-XXXXXX`, owner-stamp.ts) so a later build or prune can tell a dead process's
   * leftovers from a live one's.
   */
  async tmpDir(prefix = "build-"): Promise<string> {
    return mkdtemp(join(this.root, "tmp", `${prefix}${ownerStamp()}-`));
  }

  /** Registers a running build (or other user) whose blobs and snapshots prune must not remove (store-sessions.ts). */
  startSession(kind: string): Promise<StoreSession> {
    return StoreSession.start(this.root, kind);
  }

  /** Runs `fn` holding the store's gc lock (no session registers or holds anything meanwhile). */
  withGcLock<T>(fn: () => Promise<T>): Promise<T> {
    return withGcLock(this.root, fn);
  }

  async putLease(lease: Lease): Promise<void> {
    await writeFileAtomic(join(this.root, "leases", `${lease.id.replace(/[^\w.-]/g, "_")}.json`), JSON.stringify(lease));
  }
  async removeLease(id: string): Promise<void> {
    await rm(join(this.root, "leases", `${id.replace(/[^\w.-]/g, "_")}.json`), { force: true });
  }
  async leases(): Promise<Lease[]> {
    const out: Lease[] = [];
    for (const n of await readdir(join(this.root, "leases")).catch(() => [] as string[])) {
      try {
        const l = JSON.parse(await readFile(join(this.root, "leases", n), "utf8")) as Lease;
        if (!l.expires || Date.parse(l.expires) > Date.now()) out.push(l);
      } catch {
        // a half-written lease cannot exist (atomic writes); an unreadable one protects nothing
      }
    }
    return out;
  }

  /** Every blob reachable from a descriptor (index → manifests → config + layers). */
  async closure(root: Descriptor, into = new Set<Digest>()): Promise<Set<Digest>> {
    if (into.has(root.digest)) return into;
    into.add(root.digest);
    if (!(await this.content.has(root.digest))) return into;
    if (isIndexMediaType(root.mediaType) || isManifestMediaType(root.mediaType) || root.mediaType.endsWith("+json")) {
      let bytes: Buffer;
      try {
        bytes = await this.content.readBytes(root.digest);
      } catch {
        return into;
      }
      if (isIndexMediaType(root.mediaType) || (root.mediaType.endsWith("+json") && safe(() => looksLikeIndex(bytes)))) {
        const idx = safe(() => parseIndex(bytes));
        for (const m of idx?.manifests ?? []) await this.closure(m, into);
      } else if (isManifestMediaType(root.mediaType)) {
        const man = safe(() => parseManifest(bytes));
        if (man) {
          into.add(man.config.digest);
          for (const l of man.layers) into.add(l.digest);
        }
      }
    }
    return into;
  }

  /** Every blob an image name or a live lease needs. */
  async referenced(): Promise<Set<Digest>> {
    const keep = new Set<Digest>();
    for (const r of await this.images.list()) await this.closure(r.target, keep);
    for (const l of await this.leases()) for (const d of l.digests) if (isDigest(d)) keep.add(d);
    return keep;
  }

  /**
   * Removes every blob not reachable from an image name or a lease (nor kept by `opts`). Returns
   * what was removed. Call it holding the gc lock when builds may be running (prune does).
   */
  async gc(opts: GcOptions = {}): Promise<BlobInfo[]> {
    const keep = await this.referenced();
    for (const d of opts.keep ?? []) keep.add(d);
    const removed: BlobInfo[] = [];
    for await (const b of this.content.walk()) {
      if (keep.has(b.digest)) continue;
      if (opts.keepWrittenSince !== undefined) {
        const s = await stat(this.content.blobPath(b.digest)).catch(() => undefined);
        if (!s || s.mtimeMs >= opts.keepWrittenSince) continue;
      }
      await this.content.delete(b.digest);
      removed.push(b);
    }
    return removed;
  }

  /** Verifies every blob's digest and that every name's blobs exist; `repair` drops what is broken. */
  async check(repair = false): Promise<CheckReport> {
    const corrupt: Digest[] = [];
    let blobs = 0;
    for await (const b of this.content.walk()) {
      blobs++;
      const h = createHash("sha256");
      for await (const c of createReadStream(this.content.blobPath(b.digest))) h.update(c as Buffer);
      if (`sha256:${h.digest("hex")}` !== b.digest) corrupt.push(b.digest);
    }
    if (repair) {
      for (const d of corrupt) await this.content.delete(d);
      await this.content.cleanIngest();
    }
    const missing: { name: string; digest: Digest }[] = [];
    for (const r of await this.images.list()) {
      for (const d of await this.closure(r.target)) {
        if (!(await this.content.has(d))) missing.push({ name: r.name, digest: d });
      }
    }
    if (repair) for (const name of new Set(missing.map((m) => m.name))) await this.images.remove(name);
    return { blobs, corrupt, missing, repaired: repair };
  }
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
