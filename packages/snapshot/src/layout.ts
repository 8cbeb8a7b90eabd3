/** Where snapshots live: <root>/c/<id>/{fs,meta.json} committed, <root>/a/<id>/... active. */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "@tsbuild/oci";

export interface SnapshotMeta {
  name: string;
  parent?: string;
}

/** Short, deterministic directory ids keep overlay's lowerdir option short. */
export function idOf(name: string): string {
  return createHash("sha256").update(name).digest("hex").slice(0, 12);
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
    return join(this.root, "a", idOf(key));
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
   * `name` on `parent`, then removes the active snapshot's directory.
   */
  async commitTree(name: string, parent: string | undefined, tree: string, activeDir: string): Promise<void> {
    const target = this.committedDir(name);
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    await rename(tree, join(target, "fs"));
    await this.writeMeta(target, { name, ...(parent !== undefined ? { parent } : {}) });
    await rm(activeDir, { recursive: true, force: true });
  }

  /** parent chain of a committed snapshot, nearest first (the snapshot itself first) */
  async chain(name: string): Promise<string[]> {
    const out: string[] = [];
    let cur: string | undefined = name;
    while (cur !== undefined) {
      const meta = await this.readMeta(this.committedDir(cur));
      if (!meta) throw new Error(`snapshot ${cur} does not exist (its store entry is missing; run tsbuild store check)`);
      out.push(cur);
      cur = meta.parent;
      if (out.length > 10_000) throw new Error("snapshot parent chain loops");
    }
    return out;
  }
}
