/**
 * The snapshots on disk, for prune and du: committed snapshots of both snapshotters under a
 * snapshots root (<root>/overlay/c/<id>, <root>/copy/c/<id>), and what interrupted work leaves
 * there: staging dirs of commits, trash of removals, active snapshots, probe dirs.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Layout } from "./layout.js";
import { unmountUnder } from "./mounts.js";

export interface CommittedSnapshot {
  kind: "overlay" | "copy";
  name: string;
  parent?: string;
  dir: string;
}

export interface SnapshotDebris {
  path: string;
  /** the pid that made it, when its name says (a live pid's debris is work in progress) */
  pid?: number;
  /** true when nothing says who made it: only removable while no build is running */
  unowned: boolean;
}

const KINDS = ["overlay", "copy"] as const;

export async function listCommitted(snapshotsRoot: string): Promise<CommittedSnapshot[]> {
  const out: CommittedSnapshot[] = [];
  for (const kind of KINDS) {
    const layout = new Layout(join(snapshotsRoot, kind));
    for (const id of await readdir(join(layout.root, "c")).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{12}$/.test(id)) continue;
      const dir = join(layout.root, "c", id);
      const meta = await layout.readMeta(dir);
      if (meta) out.push({ kind, name: meta.name, ...(meta.parent !== undefined ? { parent: meta.parent } : {}), dir });
    }
  }
  return out;
}

export async function listSnapshotDebris(snapshotsRoot: string): Promise<SnapshotDebris[]> {
  const out: SnapshotDebris[] = [];
  const stamped = (path: string, name: string): SnapshotDebris => {
    const m = /-(\d+)-[0-9a-f]+$/.exec(name);
    return m ? { path, pid: Number(m[1]), unowned: false } : { path, unowned: true };
  };
  for (const kind of KINDS) {
    const root = join(snapshotsRoot, kind);
    for (const n of await readdir(root).catch(() => [] as string[])) if (n.startsWith(".trash-")) out.push(stamped(join(root, n), n));
    for (const n of await readdir(join(root, "c")).catch(() => [] as string[])) {
      if (n.includes(".commit-")) out.push(stamped(join(root, "c", n), n));
      else if (/^[0-9a-f]{12}$/.test(n) && (await new Layout(root).readMeta(join(root, "c", n))) === undefined) out.push({ path: join(root, "c", n), unowned: true });
    }
    for (const n of await readdir(join(root, "a")).catch(() => [] as string[])) out.push({ path: join(root, "a", n), unowned: true });
  }
  for (const n of await readdir(join(snapshotsRoot, "tmp")).catch(() => [] as string[])) out.push({ path: join(snapshotsRoot, "tmp", n), unowned: true });
  return out;
}

/** Removes a committed snapshot atomically (renamed away, then deleted). */
export async function removeCommitted(snapshotsRoot: string, s: CommittedSnapshot): Promise<void> {
  await new Layout(join(snapshotsRoot, s.kind)).discard(s.dir);
}

/** Removes debris: whatever a dead process left mounted there is unmounted first. */
export async function removeDebris(d: SnapshotDebris): Promise<void> {
  await unmountUnder(d.path);
  await rm(d.path, { recursive: true, force: true });
}
