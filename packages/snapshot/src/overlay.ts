/**
 * The overlay snapshotter (default as root where overlayfs works): a committed snapshot is a
 * directory of one layer's changes (overlay format: whiteouts as 0:0 char devices, opaque xattrs),
 * or shares the directory of a layer's own snapshot (merge.ts: a meta.json naming its `lower`);
 * an active one mounts its parent chain as lowerdirs with a fresh upper/work dir. Mount options
 * use short relative paths (the mount runs in the snapshot root), so ~200 layers fit in the
 * 4 KiB option limit (the kernel's own limit, 500 lowers, is never reached); a longer chain is
 * flattened into one lower directory first.
 */
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ownerStamp, writeFileAtomic, type LayerEntry } from "@tsbuild/oci";
import type { ActiveSnapshot, Snapshotter } from "./snapshotter.js";
import type { DeltaSnapshots } from "./delta.js";
import type { MergeSnapshots } from "./merge.js";
import { idOf, Layout, renameFirstWins, type ChainLayer } from "./layout.js";
import { mountOverlay, overlayXattrs, unmount } from "./mounts.js";
import { overlayIsDirectory, type DirectoryLookup } from "./lookup.js";
import { overlayDiff } from "./overlay-diff.js";
import { EarlyFlush } from "./early-flush.js";
import { wholeLayerDir, WholeLayerWatch } from "./whole-layer.js";
import { execOk } from "./exec.js";

const MAX_OPTION = 3800; // page size 4096 minus the upper/work part and some margin

export class OverlaySnapshotter implements Snapshotter, DeltaSnapshots, MergeSnapshots, DirectoryLookup {
  readonly kind = "overlay" as const;
  readonly tools = ["mount", "umount", "getfattr"] as const;
  /** its committed snapshots are layers of changes: a delta is one made by hand */
  readonly delta: DeltaSnapshots = this;
  /** a layer's directory is a lowerdir on any chain: a merge shares it */
  readonly merge: MergeSnapshots = this;
  /** a path is looked up in the layer directories as overlayfs would (with tsbuild-sys for opaque xattrs) */
  readonly lookup: DirectoryLookup = this;
  private readonly layout: Layout;
  private readonly active = new Map<string, { dir: string; parent?: string; readonly: boolean; lowers?: string[]; flush?: EarlyFlush; layer?: WholeLayerWatch }>();

  private readonly maxOption: number;

  private marker: "trusted" | "user" | undefined;

  /**
   * @param opts.maxMountOption longest lowerdir option before a chain is flattened (tests lower it)
   * @param opts.xattrsMarker the xattr mode to record in `ROOT/xattrs` before the first snapshot is
   *   made (choose.ts: a store's snapshots are of one mode)
   */
  constructor(readonly root: string, opts: { maxMountOption?: number; xattrsMarker?: "trusted" | "user" } = {}) {
    this.layout = new Layout(root);
    this.maxOption = opts.maxMountOption ?? MAX_OPTION;
    this.marker = opts.xattrsMarker;
  }

  /** Writes the xattr-mode marker once, before anything is made. */
  private async mark(): Promise<void> {
    if (this.marker === undefined) return;
    const mode = this.marker;
    this.marker = undefined;
    await mkdir(this.root, { recursive: true });
    await writeFileAtomic(join(this.root, "xattrs"), `${mode}\n`);
  }

  private async lowers(parent: string | undefined): Promise<string[]> {
    if (parent === undefined) {
      await mkdir(join(this.root, "empty"), { recursive: true });
      return ["empty"];
    }
    const chain = await this.layout.chainLayers(parent);
    let rels = chain.map((l) => l.rel);
    if (rels.join(":").length > this.maxOption) rels = [await this.flatten(parent, chain)];
    return rels;
  }

  /**
   * Merges a chain too long for one mount into a single directory (kept beside the top snapshot):
   * the chain is viewed in pieces that fit, each piece mounted over the tree flattened so far, so
   * the kernel applies every whiteout and opaque directory.
   */
  private async flatten(parent: string, chain: ChainLayer[]): Promise<string> {
    // in the top snapshot's own directory (not the layer directory it may share), removed with it
    const flatRel = `c/${idOf(parent)}/flat`;
    const flat = join(this.root, flatRel);
    if (await stat(flat).then(() => true, () => false)) return flatRel;
    await mkdir(join(this.root, "empty"), { recursive: true });
    const rels = chain.map((l) => l.rel); // nearest first
    const pieces: string[][] = [];
    let cur: string[] = [];
    for (const r of [...rels].reverse()) {
      // lowest layers first; leave room for the accumulated tree below each piece
      if ([r, ...cur, "x".repeat(64)].join(":").length > this.maxOption && cur.length > 0) {
        pieces.push(cur);
        cur = [];
      }
      cur.unshift(r);
    }
    if (cur.length) pieces.push(cur);
    const mnt = `${flat}.mnt-${ownerStamp()}-0`; // stamped: a dead build's mount here is swept
    await mkdir(mnt, { recursive: true });
    let below: string | undefined;
    try {
      for (const [i, piece] of pieces.entries()) {
        const lowers = below ? [...piece, below] : piece.length === 1 ? [...piece, "empty"] : piece;
        const out = `${flatRel}.tmp-${ownerStamp()}-${i}`;
        await mkdir(join(this.root, out), { recursive: true });
        await mountOverlay(mnt, lowers, undefined, undefined, this.root);
        try {
          await execOk("cp", ["-a", `${mnt}/.`, join(this.root, out)]);
        } finally {
          await unmount(mnt);
        }
        if (below) await rm(join(this.root, below), { recursive: true, force: true });
        below = out;
      }
      // another build may have flattened the same chain meanwhile: first one wins (same content),
      // ours is removed below
      await renameFirstWins(join(this.root, below as string), flat);
    } finally {
      await rm(mnt, { recursive: true, force: true });
      if (below && below !== flatRel) await rm(join(this.root, below), { recursive: true, force: true });
    }
    return flatRel;
  }

  async prepare(key: string, parent?: string): Promise<ActiveSnapshot> {
    await this.mark();
    // the chain first: a parent that is not there (or shares a layer that is gone) leaves nothing
    const lowers = await this.lowers(parent);
    const dir = await this.layout.freshActiveDir(key);
    // no meta.json here: an active dir is never read back (commit writes the committed one), and
    // its two fsyncs cost a few ms on every step
    for (const d of ["upper", "work", "merged"]) await mkdir(join(dir, d), { recursive: true });
    const rel = dir.slice(this.root.length + 1);
    try {
      await mountOverlay(join(dir, "merged"), lowers, `${rel}/upper`, `${rel}/work`, this.root);
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    this.active.set(key, { dir, ...(parent !== undefined ? { parent } : {}), readonly: false, lowers: lowers.map((l) => join(this.root, l)) });
    return { key, root: join(dir, "merged"), readonly: false };
  }

  /**
   * An empty, unmounted directory (on the snapshots' file system) in which to build the changes of
   * a snapshot by hand, in overlay format (see whiteout()); commitDelta() makes it a snapshot and
   * remove(key) drops it.
   */
  async prepareDelta(key: string): Promise<string> {
    await this.mark();
    const dir = await this.layout.freshActiveDir(key);
    await mkdir(join(dir, "upper"), { recursive: true });
    this.active.set(key, { dir, readonly: false });
    return join(dir, "upper");
  }

  /** Marks `path` (inside a delta dir) deleted: overlay's whiteout, a 0:0 character device. */
  async whiteout(path: string): Promise<void> {
    await execOk("mknod", [path, "c", "0", "0"]);
  }

  /**
   * Commits the delta dir of `key` as the snapshot `name` on top of the committed `parent`: the
   * snapshot's tree is the parent's with these changes (its chain is one longer than its layers).
   */
  async commitDelta(name: string, parent: string, key: string): Promise<void> {
    const a = this.active.get(key);
    if (!a) throw new Error(`no delta dir ${key}`);
    await this.layout.commitTree(name, parent, join(a.dir, "upper"), a.dir);
    this.active.delete(key);
  }

  /** Whether `path` is certainly a real directory in committed snapshot `name`, found without mounting it (lookup.ts). */
  async isDirectory(name: string | undefined, path: string): Promise<boolean> {
    if (name === undefined) return overlayIsDirectory([], path, overlayXattrs().opaque);
    try {
      return await overlayIsDirectory(await this.layerDirs(name), path, overlayXattrs().opaque);
    } catch {
      return false; // unsure: the caller mounts
    }
  }

  /** The directories of a committed snapshot's chain, nearest first (for looking paths up without mounting). */
  async layerDirs(name: string): Promise<string[]> {
    return (await this.layout.chainLayers(name)).map((l) => join(this.root, l.rel));
  }

  /**
   * Commits the active snapshot `key` (prepared on no parent) as `name`, marked as a whole layer
   * (commitMerged() may share its directory) when its upper directory is all of the layer its diff
   * made (whole-layer.ts: no ".wh." name, no xattr; checked as the diff went by, or here when
   * nobody read one). Unmarked otherwise: a snapshot still, that no merge shares.
   */
  async commitLayer(name: string, key: string): Promise<void> {
    const a = this.active.get(key);
    if (!a || a.readonly) throw new Error(`no writable snapshot ${key}`);
    if (a.parent !== undefined) throw new Error(`snapshot ${key} has a parent: its directory is not a whole layer`);
    const upper = join(a.dir, "upper");
    const whole = a.layer ? await a.layer.whole() : await wholeLayerDir(upper);
    await a.flush?.done();
    await unmount(join(a.dir, "merged"));
    await this.layout.commitTree(name, undefined, upper, a.dir, { whole });
    this.active.delete(key);
  }

  /**
   * Commits `name` on `parent` sharing the directory of `layer` (a whole layer): a meta.json
   * naming it, nothing copied. False when `layer` is not a whole layer or its directory is in the
   * chain of `parent` already (the kernel refuses a lowerdir twice: "conflicting lowerdir path").
   */
  async commitMerged(name: string, parent: string, layer: string): Promise<boolean> {
    const meta = await this.layout.readMeta(this.layout.committedDir(layer));
    if (!meta?.whole || meta.parent !== undefined || meta.lower !== undefined) return false;
    const rel = this.layout.committedFsRel(layer);
    if ((await this.layout.chainLayers(parent)).some((l) => l.rel === rel)) return false;
    await this.layout.commitShared(name, parent, layer);
    return true;
  }

  async view(key: string, parent: string): Promise<ActiveSnapshot> {
    let lowers = await this.lowers(parent);
    const dir = await this.layout.freshActiveDir(key);
    await mkdir(join(dir, "merged"), { recursive: true });
    if (lowers.length === 1) lowers = [...lowers, "empty"];
    await mkdir(join(this.root, "empty"), { recursive: true });
    await mountOverlay(join(dir, "merged"), lowers, undefined, undefined, this.root);
    this.active.set(key, { dir, parent, readonly: true });
    return { key, root: join(dir, "merged"), readonly: true };
  }

  diff(key: string): AsyncIterable<LayerEntry> {
    const a = this.active.get(key);
    if (!a || a.readonly) throw new Error(`no writable snapshot ${key}`);
    const upper = join(a.dir, "upper");
    a.flush ??= new EarlyFlush(upper);
    const entries = a.flush.watch(overlayDiff(upper, a.lowers ?? []));
    if (a.parent !== undefined) return entries;
    // on no parent the changes may become a whole layer (commitLayer): watched as they go by
    a.layer = new WholeLayerWatch(upper);
    return a.layer.watch(entries);
  }

  async commit(name: string, key: string): Promise<void> {
    const a = this.active.get(key);
    if (!a || a.readonly) throw new Error(`no writable snapshot ${key}`);
    await a.flush?.done();
    await unmount(join(a.dir, "merged"));
    await this.layout.commitTree(name, a.parent, join(a.dir, "upper"), a.dir);
    this.active.delete(key);
  }

  async remove(key: string): Promise<void> {
    const a = this.active.get(key);
    if (a) {
      await a.flush?.done();
      await unmount(join(a.dir, "merged"));
      await rm(a.dir, { recursive: true, force: true });
      this.active.delete(key);
      return;
    }
    await this.layout.discard(this.layout.committedDir(key));
  }

  /** A committed snapshot, and the layer it shares, if it does (one a prune of an older version removed leaves it unusable). */
  async exists(name: string): Promise<boolean> {
    return this.layout.complete(this.layout.committedDir(name));
  }

  async parents(name: string): Promise<string[]> {
    return (await this.layout.chain(name)).slice(1);
  }
}
