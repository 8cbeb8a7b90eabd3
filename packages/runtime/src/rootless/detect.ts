/**
 * What isolation this process can have, found by trying (as a pod without `privileged` and
 * without added capabilities allows some of it, or none):
 *
 * - a user namespace: `unshare --user --map-root-user` (refused with ENOSPC when
 *   user.max_user_namespaces is 0 here or in a namespace above, EPERM by a seccomp filter such as
 *   Docker's default profile or kernel.unprivileged_userns_clone=0, EACCES by AppArmor's
 *   restrict_unprivileged_userns);
 * - in it, a pid namespace with a fresh procfs: the kernel refuses a new proc mount in a nested
 *   user namespace whose mount namespace has no fully visible /proc (mount_too_revealing: Docker and
 *   Kubernetes mask /proc paths with binds and read-only mounts). Then RUN shares the pid namespace
 *   and gets the /proc there bound (BuildKit's --oci-worker-no-process-sandbox);
 * - the id mapping: the user's /etc/subuid and /etc/subgid ranges through the setuid newuidmap and
 *   newgidmap, or, without them (no ranges, no uidmap package, or no_new_privs, under which setuid
 *   does not work), the user as 0 only (as `unshare --map-root-user`);
 * - the seccomp state (/proc/self/status Seccomp, NoNewPrivs), to say why a refusal happened.
 *
 * Overlay or copy is decided later, inside, by the snapshotter probe (pickSnapshotter).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { toolPath } from "@tsbuild/oci";
import { planUserNamespace, RootlessSetupError, type UserNamespacePlan } from "./enter.js";

/** subids: the user as 0 and its subordinate ranges from 1; single: the user as 0 only */
export type IdMapping = "subids" | "single";
/** own: RUN gets a pid namespace and a procfs of its own; shared: the pid namespace of tsbuild's, /proc bound (no process sandbox) */
export type ProcessSandbox = "own" | "shared";

export interface SeccompState {
  /** /proc/self/status Seccomp: 0 disabled, 1 strict, 2 filter */
  mode: "disabled" | "strict" | "filter" | "unknown";
  /** no_new_privs: setuid binaries (newuidmap) run without their owner's rights */
  noNewPrivs: boolean;
}

export type UserNamespaceSupport =
  | { ok: true; processSandbox: ProcessSandbox; processSandboxWhy: string; seccomp: SeccompState }
  | { ok: false; why: string; seccomp: SeccompState };

/** The seccomp and no_new_privs state of this process. */
export function seccompState(status = readStatus()): SeccompState {
  const mode = /^Seccomp:\s+(\d)/m.exec(status)?.[1];
  return {
    mode: mode === "0" ? "disabled" : mode === "1" ? "strict" : mode === "2" ? "filter" : "unknown",
    noNewPrivs: /^NoNewPrivs:\s+1/m.test(status),
  };
}

function readStatus(): string {
  try {
    return readFileSync("/proc/self/status", "utf8");
  } catch {
    return "";
  }
}

/** Whether this process has CAP_SYS_ADMIN (bit 21) in its effective set: what runc needs to make a RUN's namespaces and mounts. */
export function hasSysAdmin(status = readStatus()): boolean {
  const eff = /^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1];
  return eff !== undefined && (BigInt(`0x${eff}`) & (1n << 21n)) !== 0n;
}

const PROC_REFUSED = 42;

function unshare(args: string[], script: string): { code: number; stderr: string } {
  let path: string;
  try {
    path = toolPath("unshare");
  } catch (e) {
    return { code: 127, stderr: (e as Error).message };
  }
  const r = spawnSync(path, [...args, "--", "/bin/sh", "-c", script], { encoding: "utf8", timeout: 10_000, stdio: ["ignore", "ignore", "pipe"] });
  return { code: r.status ?? 1, stderr: (r.stderr ?? r.error?.message ?? "").trim() };
}

/** Why the kernel refused `unshare --user`, from unshare's message and this process's state. */
export function userNamespaceRefusal(stderr: string, seccomp: SeccompState): string {
  const said = stderr.replace(/^unshare: /, "") || "unshare failed";
  if (/no space left/i.test(stderr)) return `${said}: user.max_user_namespaces is 0 (here, or in a user namespace above this one)`;
  if (/permission denied/i.test(stderr)) return `${said}: AppArmor refuses it (kernel.apparmor_restrict_unprivileged_userns=1, or the container's AppArmor profile)`;
  if (/operation not permitted/i.test(stderr)) {
    if (seccomp.mode === "filter") return `${said}: a seccomp filter is on (Seccomp: 2 in /proc/self/status; Docker's and the container runtimes' default profiles refuse unshare(CLONE_NEWUSER) without CAP_SYS_ADMIN)`;
    return `${said}: the kernel refuses unprivileged user namespaces (kernel.unprivileged_userns_clone=0, or this process is in a chroot)`;
  }
  return said;
}

/**
 * What the pod (or host) must give for a build to isolate RUN steps: printed when nothing works.
 */
export const POD_NEEDS = [
  "user namespaces allowed (sysctl user.max_user_namespaces > 0 on the node; kernel.unprivileged_userns_clone=1 where it exists)",
  "a seccomp profile that allows unshare and clone with CLONE_NEWUSER (securityContext.seccompProfile.type: Unconfined, or a profile that allows them) and AppArmor unconfined or allowing user namespaces",
  "subordinate ids for the user in /etc/subuid and /etc/subgid with setuid newuidmap/newgidmap (allowPrivilegeEscalation not false) for images with more owners than root",
  "or, where the pod allows none of this, tsbuild run as root in the container with --isolation=chroot (no namespaces: weaker, see the README's Rootless section)",
];

let cached: UserNamespaceSupport | undefined;

/** Whether a user namespace can be made here, and whether RUN can have a pid namespace and procfs of its own in it. Probed once. */
export function detectUserNamespaceSupport(): UserNamespaceSupport {
  if (cached) return cached;
  const seccomp = seccompState();
  const full = unshare(["--user", "--map-root-user", "--mount", "--pid", "--fork"], `mount -t proc proc /proc 2>/dev/null || exit ${PROC_REFUSED}`);
  if (full.code === 0) {
    cached = { ok: true, processSandbox: "own", processSandboxWhy: "a pid namespace and procfs of its own per RUN", seccomp };
    return cached;
  }
  if (full.code === PROC_REFUSED) {
    cached = {
      ok: true, processSandbox: "shared", seccomp,
      processSandboxWhy: "the kernel refuses a new procfs here (this container masks /proc paths: mount_too_revealing), so RUN shares tsbuild's pid namespace and binds its /proc (BuildKit's no-process-sandbox)",
    };
    return cached;
  }
  const bare = unshare(["--user", "--map-root-user", "--mount"], "exit 0");
  if (bare.code === 0) {
    cached = { ok: true, processSandbox: "shared", seccomp, processSandboxWhy: `a pid namespace is refused here (${full.stderr.replace(/^unshare: /, "")}), so RUN shares tsbuild's pid namespace and binds its /proc` };
    return cached;
  }
  cached = { ok: false, why: userNamespaceRefusal(bare.stderr || full.stderr, seccomp), seccomp };
  return cached;
}

export interface IdMappingChoice {
  mapping: IdMapping;
  why: string;
  /** the subordinate ranges (mapping subids) */
  plan?: UserNamespacePlan;
}

/** The best id mapping for this user: its subordinate ids when it has them and newuidmap can work, else the user only. */
export function chooseIdMapping(seccomp: SeccompState = seccompState(), files: { subuid?: string; subgid?: string } = {}): IdMappingChoice {
  let plan: UserNamespacePlan;
  try {
    plan = planUserNamespace(files);
  } catch (e) {
    if (!(e instanceof RootlessSetupError)) throw e;
    return { mapping: "single", why: `the user only, as 0 (${e.message})` };
  }
  for (const t of ["newuidmap", "newgidmap"] as const) {
    try {
      toolPath(t);
    } catch {
      return { mapping: "single", why: `the user only, as 0 (${t} is missing: apt-get install uidmap)` };
    }
  }
  if (seccomp.noNewPrivs) return { mapping: "single", why: "the user only, as 0 (no_new_privs is set: setuid newuidmap cannot map subordinate ids; allowPrivilegeEscalation must not be false)" };
  return { mapping: "subids", why: "the user as 0, its subordinate ids from 1", plan };
}
