/**
 * Where snapshots live: <root>/c/<id>/{fs,meta.json} committed, <root>/a/<PID.START>-<id>/... active
 * (stamped with their owner, @tsbuild/oci owner-stamp.ts, so that a later build can tell a dead
 * build's active snapshots from a live one's), commit staging and trash in <root>, stamped too.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { ownerStamp, writeFileAtomic } from "@tsbuild/oci";
import { spreadSubdirectories } from "./spread.js";

export interface SnapshotMeta {
  name: string;
  parent?: string;
  /** its directory holds its whole layer (it has no parent): another snapshot may share it (merge.ts) */
  whole?: true;
  /** its layer is the directory of the committed snapshot `lower` (merge.ts): it has none of its own */
  lower?: string;
}

/** A snapshot's layer in a chain: its name, and its layer directory relative to the root. */
export interface ChainLayer {
  name: string;
  rel: string;
}

/** Short, deterministic directory ids keep overlay's lowerdir option short. */
export function idOf(name: string): string {
  return createHash("sha256").update(name).digest("hex").slice(0, 12);
}

/** rename(from, to) where `to` may already exist: true if ours landed, false if another was first. */
export async function renameFirstWins(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") return false;
    throw e;
  }
}

export class Layout {
  constructor(readonly root: string) {}
  committedDir(name: string): string {
    return join(this.root, "c", idOf(name));
  }
  /** relative to root, for short mount options */
  committedFsRel(name: string): string {
    return `c/${idOf(name)}/fs`;
  }
  activeDir(key: string): string {
    return join(this.root, "a", `${ownerStamp()}-${idOf(key)}`);
  }
  /**
   * The directory of a new active snapshot, empty (anything left under its key is removed), in a
   * <root>/a that spreads active snapshots over the file system (spread.ts); the caller makes it.
   */
  async freshActiveDir(key: string): Promise<string> {
    const dir = this.activeDir(key);
    await spreadSubdirectories(join(this.root, "a"));
    await rm(dir, { recursive: true, force: true });
    return dir;
  }
  async readMeta(dir: string): Promise<SnapshotMeta | undefined> {
    try {
      return JSON.parse(await readFile(join(dir, "meta.json"), "utf8")) as SnapshotMeta;
    } catch {
      return undefined;
    }
  }
  async writeMeta(dir: string, meta: SnapshotMeta): Promise<void> {
    await writeFileAtomic(join(dir, "meta.json"), JSON.stringify(meta));
  }
  /**
   * Makes `tree` (an active snapshot's directory of changes or full tree) the committed snapshot
   * `name` on `parent`, then removes the active snapshot's directory. `whole`: its tree is every
   * entry of its layer (a layer's own snapshot, merge.ts). Returns whether ours was the one kept.
   */
  async commitTree(name: string, parent: string | undefined, tree: string, activeDir: string, opts: { whole?: boolean } = {}): Promise<boolean> {
    try {
      return await this.place({ name, ...(parent !== undefined ? { parent } : {}), ...(opts.whole ? { whole: true as const } : {}) }, (staging) => rename(tree, join(staging, "fs")));
    } finally {
      await rm(activeDir, { recursive: true, force: true });
    }
  }

  /** Commits `name` on `parent` with the layer directory of the committed `lower` (merge.ts): a meta.json and nothing else. */
  async commitShared(name: string, parent: string, lower: string): Promise<boolean> {
    return this.place({ name, parent, lower }, async () => undefined);
  }

  /**
   * Atomic and first-wins: the committed directory is assembled beside its final place (`fill`
   * puts its tree there) and renamed into it in one step, so a committed snapshot is never seen
   * half-made and is never replaced while another build may have it mounted as a lowerdir. When
   * two builds commit the same name (same parent chain, same layer: the same content), the second
   * rename fails and that build's tree is discarded. Returns whether ours was the one kept.
   */
  private async place(meta: SnapshotMeta, fill: (staging: string) => Promise<void>): Promise<boolean> {
    const target = this.committedDir(meta.name);
    // beside c/, not in it: a build's sweep for dead builds' debris reads <root>, never the (large) c/
    const staging = join(this.root, `.commit-${ownerStamp()}-${randomBytes(4).toString("hex")}`);
    await mkdir(staging, { recursive: true });
    await mkdir(join(this.root, "c"), { recursive: true });
    let won = false;
    try {
      await fill(staging);
      await this.writeMeta(staging, meta);
      won = await renameFirstWins(staging, target);
      if (!won && !(await this.complete(target))) {
        // a directory without meta.json is debris of an older, non-atomic commit, and one sharing a
        // lower that is gone cannot be mounted: nobody can be using it (chain() refuses both), so
        // move it away and take its place
        await this.discard(target);
        won = await renameFirstWins(staging, target);
      }
    } finally {
      if (!won) await rm(staging, { recursive: true, force: true });
    }
    return won;
  }

  /** Whether the committed directory `dir` is a snapshot that can be used: its meta.json, and the lower it shares. */
  async complete(dir: string): Promise<boolean> {
    const meta = await this.readMeta(dir);
    if (!meta) return false;
    return meta.lower === undefined || (await this.readMeta(this.committedDir(meta.lower))) !== undefined;
  }

  /**
   * Removes a committed snapshot directory atomically: renamed out of its place first (so nobody
   * sees a half-removed snapshot as valid), then deleted.
   */
  async discard(dir: string): Promise<void> {
    const trash = join(this.root, `.trash-${ownerStamp()}-${randomBytes(6).toString("hex")}`);
    try {
      await rename(dir, trash);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    await rm(trash, { recursive: true, force: true });
  }

  /** parent chain of a committed snapshot, nearest first (the snapshot itself first) */
  async chain(name: string): Promise<string[]> {
    return (await this.chainLayers(name)).map((l) => l.name);
  }

  /**
   * The layers of a committed snapshot's chain, nearest first: each snapshot's name and its layer
   * directory (its own, or the one of the lower it shares), relative to the root.
   */
  async chainLayers(name: string): Promise<ChainLayer[]> {
    const out: ChainLayer[] = [];
    let cur: string | undefined = name;
    while (cur !== undefined) {
      const meta = await this.readMeta(this.committedDir(cur));
      if (!meta) throw new Error(`snapshot ${cur} does not exist (its store entry is missing; run tsbuild store check)`);
      if (meta.lower !== undefined && !(await this.readMeta(this.committedDir(meta.lower)))) {
        throw new Error(`snapshot ${meta.lower}, the layer of snapshot ${cur}, does not exist (its store entry is missing; run tsbuild store check)`);
      }
      out.push({ name: cur, rel: this.committedFsRel(meta.lower ?? cur) });
      cur = meta.parent;
      if (out.length > 10_000) throw new Error("snapshot parent chain loops");
    }
    return out;
  }
}
