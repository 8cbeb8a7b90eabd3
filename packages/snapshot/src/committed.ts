/**
 * The snapshots on disk, for prune and du: committed snapshots of both snapshotters under a
 * snapshots root (<root>/overlay/c/<id>, <root>/copy/c/<id>), and what interrupted work leaves
 * there: staging dirs of commits, trash of removals, active snapshots, probe dirs (each stamped
 * with its owner where it was made by this version, @tsbuild/oci owner-stamp.ts).
 */
import { readdirSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { OwnerCheck, type OwnerState } from "@tsbuild/oci";
import { Layout } from "./layout.js";
import { unmountUnder } from "./mounts.js";

export interface CommittedSnapshot {
  kind: "overlay" | "copy";
  name: string;
  parent?: string;
  /** the snapshot whose layer directory this one shares (merge.ts): kept while this one is, as its parent is */
  lower?: string;
  dir: string;
}

export interface SnapshotDebris {
  path: string;
  /** whether its owner (stamped in its name) runs: a live owner's debris is work in progress */
  owner: OwnerState;
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
      if (meta) out.push({ kind, name: meta.name, ...(meta.parent !== undefined ? { parent: meta.parent } : {}), ...(meta.lower !== undefined ? { lower: meta.lower } : {}), dir });
    }
  }
  return out;
}

export async function listSnapshotDebris(snapshotsRoot: string, owners = new OwnerCheck()): Promise<SnapshotDebris[]> {
  const out: SnapshotDebris[] = [];
  const stamped = (path: string, name: string): SnapshotDebris => {
    const owner = owners.state(name);
    return { path, owner, unowned: owner === "unowned" };
  };
  const unowned = (path: string): SnapshotDebris => ({ path, owner: "unowned", unowned: true });
  for (const kind of KINDS) {
    const root = join(snapshotsRoot, kind);
    for (const n of await readdir(root).catch(() => [] as string[])) if (n.startsWith(".trash-") || n.startsWith(".commit-")) out.push(stamped(join(root, n), n));
    for (const n of await readdir(join(root, "c")).catch(() => [] as string[])) {
      if (n.includes(".commit-")) out.push(stamped(join(root, "c", n), n)); // staged here by older versions
      else if (/^[0-9a-f]{12}$/.test(n) && (await new Layout(root).readMeta(join(root, "c", n))) === undefined) out.push(unowned(join(root, "c", n)));
    }
    for (const n of await readdir(join(root, "a")).catch(() => [] as string[])) out.push(stamped(join(root, "a", n), n));
  }
  for (const n of await readdir(join(snapshotsRoot, "tmp")).catch(() => [] as string[])) out.push(stamped(join(snapshotsRoot, "tmp", n), n));
  return out;
}

/**
 * The debris of dead owners only, without reading any committed snapshot's directory (c/): what a
 * build sweeps before it starts, five synchronous readdirs of small directories.
 */
export function deadSnapshotDebris(snapshotsRoot: string, owners: OwnerCheck): string[] {
  const out: string[] = [];
  const dirs = [...KINDS.flatMap((k) => [join(snapshotsRoot, k), join(snapshotsRoot, k, "a")]), join(snapshotsRoot, "tmp")];
  const listed = dirs.map((d) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  });
  for (const [i, names] of listed.entries()) {
    const top = i < KINDS.length * 2 && i % 2 === 0;
    for (const n of names) {
      if (top && !n.startsWith(".trash-") && !n.startsWith(".commit-")) continue;
      if (owners.state(n) === "dead") out.push(join(dirs[i] as string, n));
    }
  }
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
