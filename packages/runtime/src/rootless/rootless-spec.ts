/**
 * A RUN's runc config inside a user namespace, as BuildKit's rootless mode makes it
 * (util/rootless/specconv ToRootless, util/rootless/mountopts FixUpOCI):
 * - no sysfs (nor cgroup file system) on /sys: sysfs cannot be mounted by a namespace that does
 *   not own the network namespace (the host's, by default), and a read-only rbind of the host's
 *   would leave the mounts under it (the cgroup file systems) writable by the user. BuildKit drops
 *   /sys; tsbuild mounts an empty read-only tmpfs there, so runc makes the same /sys directory in
 *   the step's tree as in a root build, and the layer is the same;
 * - no cgroup resources (the device rules need a cgroup of its own a user may not have; runc, in a
 *   user namespace, uses its rootless cgroup manager: a cgroup where one is delegated, none else);
 * - a bind mount carries the flags of the mount its source is on that the kernel locks for a
 *   less privileged namespace (ro, nodev, noexec, nosuid, the atime ones): a remount without them
 *   fails with EPERM;
 * - with no process sandbox (detect.ts: the kernel refuses a new procfs, as in a pod that masks
 *   /proc paths), no pid namespace and the /proc of tsbuild's pid namespace bound recursively, the
 *   /proc masked and read-only paths left to the mounts it already has (BuildKit's
 *   --oci-worker-no-process-sandbox, executor/oci withBoundProc);
 * - with the user mapped alone (no subordinate ids): devpts without gid=5 (an unmapped group) and
 *   no supplementary groups once setgroups is denied (as `runc spec --rootless`).
 */
import { readFileSync } from "node:fs";
import { enteredUserNamespace, readIdMap, type IdMapRange, type RuntimeMount, type RuntimeSpec } from "@tsbuild/oci";

const LOCKED = new Set(["ro", "nodev", "noexec", "nosuid", "noatime", "relatime", "nodiratime"]);

interface MountPoint {
  point: string;
  flags: string[];
}

function unescape(s: string): string {
  return s.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** This process's mount points and their per-mount flags (/proc/self/mountinfo fields 5 and 6). */
function mountPoints(): MountPoint[] {
  let text = "";
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  return text.split("\n").flatMap((l) => {
    const f = l.split(" ");
    return f[4] && f[5] ? [{ point: unescape(f[4]), flags: f[5].split(",") }] : [];
  });
}

/** The locked flags of the mount `path` is on (the deepest mount point above it; the last one mounted there). */
export function lockedFlags(path: string, points: MountPoint[] = mountPoints()): string[] {
  let best: MountPoint | undefined;
  for (const m of points) {
    const under = m.point === "/" || path === m.point || path.startsWith(`${m.point}/`);
    if (under && (!best || m.point.length >= best.point.length)) best = m;
  }
  return (best?.flags ?? []).filter((f) => LOCKED.has(f));
}

const mapsId = (map: IdMapRange[], id: number) => map.some((r) => id >= r.inside && id < r.inside + r.count);

function setgroupsDenied(): boolean {
  try {
    return readFileSync("/proc/self/setgroups", "utf8").trim() === "deny";
  } catch {
    return false;
  }
}

export interface RootlessSpecFacts {
  /** RUN shares this process's pid namespace, /proc bound (default: what the namespace tsbuild made says) */
  sharedPids?: boolean;
  /** this namespace's gid map (default /proc/self/gid_map) */
  gidMap?: IdMapRange[];
  /** setgroups(2) is denied in this namespace (default /proc/self/setgroups) */
  noSetgroups?: boolean;
}

/** Makes a sandboxed (or insecure) spec one runc runs inside a user namespace, in place. */
export function toRootlessSpec(spec: RuntimeSpec, facts: RootlessSpecFacts = {}): void {
  const shared = facts.sharedPids ?? enteredUserNamespace()?.processSandbox === "shared";
  const gidMap = facts.gidMap ?? readIdMap("/proc/self/gid_map");
  if (shared) {
    spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== "pid");
    spec.mounts = [{ destination: "/proc", type: "bind", source: "/proc", options: ["rbind"] }, ...spec.mounts.filter((m) => m.destination !== "/proc" && !m.destination.startsWith("/proc/"))];
    spec.linux.maskedPaths = (spec.linux.maskedPaths ?? []).filter((p) => p !== "/proc" && !p.startsWith("/proc/"));
    spec.linux.readonlyPaths = (spec.linux.readonlyPaths ?? []).filter((p) => p !== "/proc" && !p.startsWith("/proc/"));
  }
  if (gidMap.length && !mapsId(gidMap, 5)) {
    spec.mounts = spec.mounts.map((m) => (m.type === "devpts" ? { ...m, options: (m.options ?? []).filter((o) => o !== "gid=5") } : m));
  }
  if ((facts.noSetgroups ?? setgroupsDenied()) && spec.process.user.additionalGids) delete spec.process.user.additionalGids;
  spec.mounts = spec.mounts.flatMap((m): RuntimeMount[] => {
    if (m.destination === "/sys") return [{ destination: "/sys", type: "tmpfs", source: "tmpfs", options: ["nosuid", "noexec", "nodev", "ro", "size=4k"] }];
    return m.destination.startsWith("/sys/") ? [] : [m];
  });
  delete spec.linux.resources;
  const points = mountPoints();
  spec.mounts = spec.mounts.map((m): RuntimeMount => {
    const opts = m.options ?? [];
    if (!opts.includes("bind") && !opts.includes("rbind")) return m;
    const extra = lockedFlags(m.source ?? "", points).filter((f) => !opts.includes(f) && !(f === "ro" && opts.includes("rw")));
    return extra.length ? { ...m, options: [...opts, ...extra] } : m;
  });
}
