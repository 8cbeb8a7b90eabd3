/**
 * Before a build starts (and at the start of a prune), what dead builds left in the store is
 * removed: their runc containers (killed and deleted), mounts (overlay snapshots, secret tmpfs),
 * scratch dirs, active snapshots, commit staging and trash, ingest files and session files, and the
 * directories of their --ssh agents in the system's temporary directory (ssh/ssh-agents.ts). Whose
 * is whose comes from the owner stamp every such thing has in its name (@tsbuild/oci
 * owner-stamp.ts): a live build's things are never touched, whichever process looks. Things without
 * a stamp (made by older versions) are left to `tsbuild prune`.
 *
 * Cheap when nothing is left (~0.5 ms): a readdir each of the sessions, runc, tmp, ingest and
 * snapshot directories and one read of /proc/self/mountinfo; runc and umount run only for a dead
 * build's container or mount.
 */
import { readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { SSH_DIR_PREFIX } from "../ssh/ssh-agents.js";
import { deadSessionFiles, OwnerCheck, type Store } from "@tsbuild/oci";
import { deadSnapshotDebris, mountPointsUnder, unmountLazy } from "@tsbuild/snapshot";
import { deadContainers, deleteContainer } from "@tsbuild/runtime";
import { snapshotsRoot } from "./store-usage.js";
import { monotonicMs } from "../clock.js";

export interface SweepReport {
  /** containers killed and deleted */
  containers: number;
  mounts: number;
  /** scratch dirs, active snapshots, commit staging, trash */
  dirs: number;
  /** ingest files and session files */
  files: number;
  /** what was left because it could not be removed (a runc that failed) */
  failed: string[];
  ms: number;
}

export function sweepTotal(r: SweepReport): number {
  return r.containers + r.mounts + r.dirs + r.files;
}

function deadEntries(dir: string, owners: OwnerCheck, wanted: (name: string) => boolean = () => true): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => wanted(n) && owners.state(n) === "dead").map((n) => join(dir, n));
}

export async function sweepDeadBuilds(store: Store, opts: { runc?: string } = {}): Promise<SweepReport> {
  const t0 = monotonicMs();
  const owners = new OwnerCheck();
  const stateDir = join(store.root, "runc");
  // the look is synchronous: ten tiny calls cost ~0.4 ms so, ~1.2 ms through libuv's thread pool
  const sessions = deadSessionFiles(store.root, owners);
  const containers = deadContainers(stateDir, owners);
  const mounts = mountPointsUnder(store.root);
  const scratch = deadEntries(join(store.root, "tmp"), owners);
  const ingest = deadEntries(join(store.root, "blobs", "ingest"), owners);
  const debris = deadSnapshotDebris(snapshotsRoot(store), owners);
  // a killed build's ssh agents stopped by themselves (key-agent.ts); their directories are left
  // (the system's temporary directory can hold thousands of entries: the prefix is checked first)
  const sshDirs = deadEntries(tmpdir(), owners, (n) => n.startsWith(SSH_DIR_PREFIX));
  const failed: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch {
      failed.push(what);
      return false;
    }
  };
  // containers first: a dead build's container still runs on its snapshot's mount
  let killed = 0;
  for (const id of containers) {
    if (await deleteContainer(stateDir, id, opts.runc)) killed++;
    else failed.push(`container ${id}`);
  }
  // a mount is a dead build's when the first stamped component of its path is (deepest first)
  let unmounted = 0;
  for (const m of mounts) {
    if (m === store.root || owners.pathState(relative(store.root, m)) !== "dead") continue;
    if (await attempt(`mount ${relative(store.root, m)}`, () => unmountLazy(m))) unmounted++;
  }
  let dirs = 0;
  // not the store's: removed, not counted (any store's build may sweep them)
  for (const d of sshDirs) await rm(d, { recursive: true, force: true }).catch(() => undefined);
  for (const d of [...scratch, ...debris]) if (await attempt(relative(store.root, d), () => rm(d, { recursive: true, force: true }))) dirs++;
  let files = 0;
  for (const f of [...ingest, ...sessions]) if (await attempt(relative(store.root, f), () => rm(f, { force: true }))) files++;
  return { containers: killed, mounts: unmounted, dirs, files, failed, ms: monotonicMs() - t0 };
}
