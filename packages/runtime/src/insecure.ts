/**
 * `RUN --security=insecure`: the container as BuildKit's insecure mode makes it (moby/buildkit
 * util/entitlements/security WithInsecureSpec, executor/oci generateSecurityOpts), like
 * `docker run --privileged`: every capability tsbuild itself has (bounding, effective, permitted,
 * inheritable and ambient), no masked or read-only /proc paths, every character and block device
 * allowed, the devices BuildKit adds (kmsg, cuse, fuse, kvm, net/tun, loop-control and loop0 up to
 * seven past the first free loop device), and /sys and the cgroup file system writable. (tsbuild loads no seccomp profile
 * and no AppArmor profile in either mode.)
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import type { RuntimeSpec } from "@tsbuild/oci";

/** Linux capability names by bit number (linux/capability.h, up to 6.x). */
const CAP_NAMES = [
  "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
  "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
  "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
  "PERFMON", "BPF", "CHECKPOINT_RESTORE",
].map((n) => `CAP_${n}`);

/** The effective capabilities of this process, by name (as containerd's cap.Current, which BuildKit grants). */
export function currentCapabilities(status = readFileSync("/proc/self/status", "utf8")): string[] {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0";
  const bits = BigInt(`0x${hex}`);
  return CAP_NAMES.filter((_, i) => (bits >> BigInt(i)) & 1n);
}

/** The first loop device not bound to a file (what LOOP_CTL_GET_FREE would give), from sysfs. */
export function firstFreeLoop(sysBlock = "/sys/block"): number {
  let names: string[];
  try {
    names = readdirSync(sysBlock);
  } catch {
    return 0;
  }
  const loops = names.flatMap((n) => (/^loop(\d+)$/.exec(n) ? [Number(n.slice(4))] : [])).sort((a, b) => a - b);
  for (const n of loops) if (!existsSync(`${sysBlock}/loop${n}/loop`)) return n;
  return loops.length ? (loops[loops.length - 1] as number) + 1 : 0;
}

const CHAR_DEVICES: [string, number, number][] = [
  ["/dev/kmsg", 1, 11], ["/dev/cuse", 10, 203], ["/dev/fuse", 10, 229], ["/dev/kvm", 10, 232], ["/dev/net/tun", 10, 200], ["/dev/loop-control", 10, 237],
];

/** Makes `spec` (a sandboxed one from buildSpec) privileged, in place. */
export function makeInsecure(spec: RuntimeSpec, caps = currentCapabilities(), freeLoop = firstFreeLoop()): void {
  spec.process.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps };
  spec.linux.maskedPaths = [];
  spec.linux.readonlyPaths = [];
  spec.linux.resources = { ...spec.linux.resources, devices: [{ allow: true, type: "c", access: "rwm" }, { allow: true, type: "b", access: "rwm" }] };
  spec.linux.devices = [
    ...(spec.linux.devices ?? []),
    ...CHAR_DEVICES.map(([path, major, minor]) => ({ path, type: "c", major, minor })),
    ...Array.from({ length: freeLoop + 8 }, (_, i) => ({ path: `/dev/loop${i}`, type: "b", major: 7, minor: i })),
  ];
  // writable sysfs and cgroup file system (containerd's WithWriteableSysfs, WithWriteableCgroupfs)
  for (const m of spec.mounts) if (m.type === "sysfs" || m.type === "cgroup") m.options = (m.options ?? []).filter((o) => o !== "ro");
}
