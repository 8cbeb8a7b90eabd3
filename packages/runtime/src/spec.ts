/** The OCI runtime bundle config (config.json) for one RUN step, as docker/BuildKit set it up. */
import { existsSync } from "node:fs";
import { inUserNamespace, type RuntimeMount, type RuntimeSpec } from "@tsbuild/oci";
import { makeInsecure } from "./insecure.js";
import { toRootlessSpec } from "./rootless/rootless-spec.js";

let cgroupNs: boolean | undefined;

/**
 * Whether a RUN gets a cgroup namespace of its own, as BuildKit decides it (executor/oci
 * cgroupV2NamespaceSupported): the kernel has cgroup namespaces and the host runs cgroup v2. Without
 * one, on cgroup v2 runc mounts a cgroup2 file system that shows the host's whole hierarchy (every
 * service and container, their limits and usage); on cgroup v1 runc binds the container's own
 * cgroup of each hierarchy, and BuildKit adds no namespace (one fails there on odd hierarchies).
 */
export function cgroupNamespaceSupported(): boolean {
  cgroupNs ??= existsSync("/proc/self/ns/cgroup") && existsSync("/sys/fs/cgroup/cgroup.subtree_control");
  return cgroupNs;
}

export type NetworkMode = "default" | "host" | "none";
/** RUN --security: sandbox (the default) or insecure (privileged, insecure.ts) */
export type SecurityMode = "sandbox" | "insecure";

export const DEFAULT_CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface SpecInput {
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  hostname: string;
  network: NetworkMode;
  /** /etc/hosts and /etc/resolv.conf files to bind */
  etcFiles: { hosts: string; resolv: string };
  extraMounts: RuntimeMount[];
  security?: SecurityMode;
  /** a cgroup namespace of its own (cgroupNamespaceSupported(), the default) */
  cgroupNamespace?: boolean;
  /** no masked or read-only paths (docker's systempaths=unconfined): RunRequest.systemPaths */
  unmaskedSystemPaths?: boolean;
  /** runc runs in a user namespace (default: this process does): rootless-spec.ts */
  rootless?: boolean;
}

export function buildSpec(i: SpecInput): RuntimeSpec {
  const spec = sandboxSpec(i);
  if (i.security === "insecure") makeInsecure(spec);
  if (i.unmaskedSystemPaths && spec.linux) {
    spec.linux.maskedPaths = [];
    spec.linux.readonlyPaths = [];
  }
  if (i.rootless ?? inUserNamespace()) toRootlessSpec(spec);
  return spec;
}

function sandboxSpec(i: SpecInput): RuntimeSpec {
  const caps = DEFAULT_CAPABILITIES;
  const ownNet = i.network === "none";
  const mounts: RuntimeMount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    // a sysfs of its own and the cgroup file system, read-only, as BuildKit (a bind of the host's
    // /sys would bring the host's cgroup hierarchies along, writable)
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro", "nosuid", "noexec", "nodev"] },
    { destination: "/etc/resolv.conf", type: "bind", source: i.etcFiles.resolv, options: ["nosuid", "noexec", "nodev", "rbind", "ro"] },
    { destination: "/etc/hosts", type: "bind", source: i.etcFiles.hosts, options: ["nosuid", "noexec", "nodev", "rbind", "ro"] },
    ...i.extraMounts,
  ];
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: i.uid, gid: i.gid, ...(i.additionalGids.length ? { additionalGids: i.additionalGids } : {}) },
      args: i.args,
      env: i.env,
      cwd: i.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: false,
    },
    root: { path: i.rootfs, readonly: false },
    hostname: i.hostname,
    mounts,
    linux: {
      namespaces: [
        { type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" },
        ...(ownNet ? [{ type: "network" as const }] : []),
        ...((i.cgroupNamespace ?? cgroupNamespaceSupported()) ? [{ type: "cgroup" as const }] : []),
      ],
      maskedPaths: [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
      resources: { devices: [{ allow: false, access: "rwm" }] },
    },
  };
}
