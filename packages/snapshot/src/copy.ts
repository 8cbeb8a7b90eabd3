/**
 * The copy snapshotter: the portable fallback where overlayfs cannot be used. A committed snapshot
 * is a full tree; prepare copies the parent's tree (reflinks where the file system has them); diff
 * walks the working tree against the parent (kaniko-style: type, mode, owner, size, mtime, link
 * target, inode), emitting whiteouts for what is gone and an opaque directory for a directory that
 * was deleted and recreated (its inode changed). It gives the same layers as the overlay
 * snapshotter for the same steps.
 */
import { lstat, mkdir, readdir, readlink, rm } from "node:fs/promises";
import { createReadStream, type BigIntStats } from "node:fs";
import { join } from "node:path";
import type { LayerEntry } from "@tsbuild/oci";
import type { ActiveSnapshot, Snapshotter } from "./snapshotter.js";
import { Layout } from "./layout.js";
import { treeIsDirectory, type DirectoryLookup } from "./lookup.js";
import { execOk } from "./exec.js";

interface Node {
  st: BigIntStats;
  link?: string;
}

async function index(root: string): Promise<Map<string, Node>> {
  const out = new Map<string, Node>();
  const walk = async (rel: string): Promise<void> => {
    for (const n of await readdir(join(root, rel))) {
      const p = rel ? `${rel}/${n}` : n;
      const st = await lstat(join(root, p), { bigint: true });
      out.set(p, { st, ...(st.isSymbolicLink() ? { link: await readlink(join(root, p)) } : {}) });
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk("");
  return out;
}

function identity(st: BigIntStats): string {
  return `${st.ino}:${st.birthtimeNs}`;
}

function kind(st: BigIntStats): string {
  return st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : st.isFile() ? "f" : st.isFIFO() ? "p" : st.isCharacterDevice() ? "c" : st.isBlockDevice() ? "b" : "s";
}

export class CopySnapshotter implements Snapshotter, DirectoryLookup {
  readonly kind = "copy" as const;
  readonly tools = ["cp"] as const;
  /** a committed snapshot is a full tree: a path is looked up in it */
  readonly lookup: DirectoryLookup = this;
  private readonly layout: Layout;
  private readonly active = new Map<string, { dir: string; parent?: string; readonly: boolean; inodes: Map<string, string> }>();

  constructor(readonly root: string) {
    this.layout = new Layout(root);
  }

  private fsOf(name: string): string {
    return join(this.layout.committedDir(name), "fs");
  }

  /** Whether `path` is certainly a real directory in committed snapshot `name` (lookup.ts). */
  async isDirectory(name: string | undefined, path: string): Promise<boolean> {
    if (name === undefined) return path.split("/").every((p) => p === "" || p === "."); // the empty root has only itself
    try {
      return treeIsDirectory(this.fsOf(name), path);
    } catch {
      return false;
    }
  }

  async prepare(key: string, parent?: string): Promise<ActiveSnapshot> {
    const dir = await this.layout.freshActiveDir(key);
    await mkdir(join(dir, "fs"), { recursive: true });
    if (parent !== undefined) await execOk("cp", ["-a", "--reflink=auto", `${this.fsOf(parent)}/.`, join(dir, "fs")]);
    // identity of every path after the copy: inode and birth time (an inode number can be reused
    // by a delete-and-recreate; the birth time cannot)
    const inodes = new Map<string, string>();
    for (const [p, n] of await index(join(dir, "fs"))) inodes.set(p, identity(n.st));
    this.active.set(key, { dir, ...(parent !== undefined ? { parent } : {}), readonly: false, inodes });
    return { key, root: join(dir, "fs"), readonly: false };
  }

  async view(key: string, parent: string): Promise<ActiveSnapshot> {
    this.active.set(key, { dir: "", parent, readonly: true, inodes: new Map() });
    return { key, root: this.fsOf(parent), readonly: true };
  }

  async *diff(key: string): AsyncIterable<LayerEntry> {
    const a = this.active.get(key);
    if (!a || a.readonly) throw new Error(`no writable snapshot ${key}`);
    const root = join(a.dir, "fs");
    const now = await index(root);
    const before = a.parent !== undefined ? await index(this.fsOf(a.parent)) : new Map<string, Node>();
    const changed = new Set<string>();
    const opaque = new Set<string>();
    const recreated = (p: string, n: Node): boolean => a.inodes.has(p) && a.inodes.get(p) !== identity(n.st);
    for (const [p, n] of now) {
      const b = before.get(p);
      const differs = !b || kind(b.st) !== kind(n.st) || b.st.mode !== n.st.mode || b.st.uid !== n.st.uid || b.st.gid !== n.st.gid ||
        (n.st.isFile() && (b.st.size !== n.st.size || b.st.mtimeNs !== n.st.mtimeNs || b.st.nlink !== n.st.nlink)) || b.link !== n.link ||
        (n.st.isDirectory() && b.st.mtimeMs !== n.st.mtimeMs) || recreated(p, n);
      if (differs) changed.add(p);
      if (n.st.isDirectory() && b && recreated(p, n)) opaque.add(p);
    }
    const whiteouts = new Set<string>();
    // a whiteout's time is when the diff saw the deletion, as an overlay upper dir's whiteout device
    // has the time of the deletion (and BuildKit's differ stamps it with the time of the diff): under
    // SOURCE_DATE_EPOCH both are clamped to it, so the two snapshotters write the same layer
    const deletedAt = new Date();
    for (const p of before.keys()) {
      if (now.has(p)) continue;
      // only the top-most deleted path, and nothing under a recreated (opaque) directory
      const parent = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
      if (parent !== "" && (!now.has(parent) || opaque.has(parent))) continue;
      whiteouts.add(p);
      changed.add(p);
    }
    // every ancestor of a change is part of the layer (as an overlay upper dir has it)
    for (const p of [...changed]) {
      let i = p.lastIndexOf("/");
      while (i > 0) {
        changed.add(p.slice(0, i));
        i = p.lastIndexOf("/", i - 1);
      }
    }
    // everything inside an opaque directory is in the layer
    for (const [p] of now) for (const o of opaque) if (p.startsWith(o + "/")) changed.add(p);
    const order = [...changed].sort((x, y) => Buffer.compare(Buffer.from(x.split("/").join("\0")), Buffer.from(y.split("/").join("\0"))));
    const linkFirst = new Map<string, string>();
    for (const p of order) {
      if (whiteouts.has(p)) {
        yield { path: p, type: "whiteout", mode: 0, uid: 0, gid: 0, mtime: deletedAt };
        continue;
      }
      const n = now.get(p) as Node;
      const st = n.st;
      const base = { path: p, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: new Date(Number(st.mtimeMs)) };
      if (st.isDirectory()) {
        yield { ...base, type: "dir" };
        if (opaque.has(p)) yield { path: p, type: "opaque", mode: 0, uid: 0, gid: 0, mtime: base.mtime };
      } else if (st.isSymbolicLink()) yield { ...base, type: "symlink", linkname: n.link ?? "" };
      else if (st.isFile()) {
        if (st.nlink > 1n) {
          const k = `${st.dev}:${st.ino}`;
          const first = linkFirst.get(k);
          if (first) {
            yield { ...base, type: "hardlink", linkname: first };
            continue;
          }
          linkFirst.set(k, p);
        }
        const abs = join(root, p);
        yield { ...base, type: "file", size: Number(st.size), open: () => createReadStream(abs) };
      } else if (st.isFIFO()) yield { ...base, type: "fifo" };
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const rdev = Number(st.rdev);
        yield { ...base, type: st.isCharacterDevice() ? "char" : "block", devmajor: (rdev >> 8) & 0xfff, devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
      }
    }
  }

  async commit(name: string, key: string): Promise<void> {
    const a = this.active.get(key);
    if (!a || a.readonly) throw new Error(`no writable snapshot ${key}`);
    await this.layout.commitTree(name, a.parent, join(a.dir, "fs"), a.dir);
    this.active.delete(key);
  }

  async remove(key: string): Promise<void> {
    const a = this.active.get(key);
    if (a) {
      if (a.dir) await rm(a.dir, { recursive: true, force: true });
      this.active.delete(key);
      return;
    }
    await this.layout.discard(this.layout.committedDir(key));
  }

  async exists(name: string): Promise<boolean> {
    return (await this.layout.readMeta(this.layout.committedDir(name))) !== undefined;
  }

  async parents(name: string): Promise<string[]> {
    return (await this.layout.chain(name)).slice(1);
  }
}
