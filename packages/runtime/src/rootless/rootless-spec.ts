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
 *   fails with EPERM.
 */
import { readFileSync } from "node:fs";
import type { RuntimeMount, RuntimeSpec } from "@tsbuild/oci";

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

/** Makes a sandboxed (or insecure) spec one runc runs inside a user namespace, in place. */
export function toRootlessSpec(spec: RuntimeSpec): void {
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
