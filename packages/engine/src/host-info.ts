/**
 * What this host gives a build (`tsbuild info`): the store, the snapshotter that would be chosen and
 * why, the runtime, cgroups, the user, the kernel features tsbuild uses, every system tool, and the
 * registry logins and credential helpers configured. `problems` lists what would stop a build here.
 */
import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { release } from "node:os";
import { join } from "node:path";
import { dirSize, findTool, systemTools, type ToolStatus } from "@tsbuild/oci";
import { pickSnapshotter, probeOverlay } from "@tsbuild/snapshot";
import { hasSysAdmin, seccompState, userNamespaceSummary } from "@tsbuild/runtime";
import type { IdMapRange } from "@tsbuild/oci";
import { isolationMode } from "./rootless.js";
import type { RegistryConfigSummary } from "@tsbuild/registry";

export interface HostInfo {
  node: string;
  store: { root: string; exists: boolean; size: number };
  snapshotter: { kind: "overlay" | "copy"; why: string };
  runtime: { name: "runc"; path?: string; version?: string };
  cgroup: "v1" | "v2";
  /**
   * who builds: the host's root, or rootless (root of a user namespace: `uid` is the user outside,
   * `uidMap`/`gidMap` the namespace's maps, inside → outside)
   */
  user: {
    uid: number; mode: "root" | "rootless"; uidMap?: IdMapRange[]; gidMap?: IdMapRange[];
    /** in tsbuild's namespace: its ids (subordinate, or the user only) and RUN's process sandbox (own, or shared: no pid namespace), and why */
    idMapping?: "subids" | "single"; processSandbox?: "own" | "shared"; why?: { idMapping?: string; processSandbox?: string };
  };
  /** this process's seccomp mode and no_new_privs, and whether it has CAP_SYS_ADMIN (what decides which isolation a build gets) */
  security: { seccomp: "disabled" | "strict" | "filter" | "unknown"; noNewPrivs: boolean; sysAdmin: boolean };
  kernel: { release: string; overlayfs: boolean; userNamespaces: boolean };
  tools: ToolStatus[];
  registries: RegistryConfigSummary;
  /** what would stop a build on this host, each with what to do */
  problems: string[];
}

const exists = (p: string) => stat(p).then(() => true, () => false);

function firstLine(cmd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (err, out) => resolve(err ? undefined : String(out).split("\n")[0]?.trim()));
  });
}

async function userNamespaces(): Promise<boolean> {
  const max = Number((await readFile("/proc/sys/user/max_user_namespaces", "utf8").catch(() => "0")).trim());
  const clone = (await readFile("/proc/sys/kernel/unprivileged_userns_clone", "utf8").catch(() => "1")).trim();
  return max > 0 && clone !== "0";
}

/**
 * @param root the store (made if missing: the overlay probe runs on its file system, as a build's does)
 * @param snapshotter what the build would be asked for (--snapshotter)
 */
/**
 * @param rootlessProblem why the user namespace of a rootless build could not be made (the CLI runs
 *   info outside one then)
 */
export async function hostInfo(root: string, snapshotter: "auto" | "overlay" | "copy" = "auto", env: NodeJS.ProcessEnv = process.env, rootlessProblem?: string): Promise<HostInfo> {
  const problems: string[] = [];
  const iso = isolationMode();
  const seccomp = seccompState();
  const uid = iso.user?.uid ?? process.getuid?.() ?? -1;
  const ns = userNamespaceSummary();
  if (rootlessProblem) problems.push(rootlessProblem);
  else if ((process.getuid?.() ?? 0) !== 0) problems.push("this process is not root and not in a user namespace: run tsbuild itself (it makes one), or as root");
  const filesystems = await readFile("/proc/filesystems", "utf8").catch(() => "");
  const overlayfs = /\toverlay$/m.test(filesystems);
  let snap: HostInfo["snapshotter"];
  if (snapshotter === "copy") snap = { kind: "copy", why: "asked for (--snapshotter copy)" };
  else if (iso.rootless) {
    // as a rootless build picks it (userxattr, and the store's snapshots of the same mode)
    const picked = await pickSnapshotter(join(root, "snapshots"), snapshotter).catch((e: Error) => ({ snapshotter: { kind: "copy" as const }, why: e.message, failed: true }));
    snap = { kind: picked.snapshotter.kind, why: picked.why };
    if ("failed" in picked) problems.push(picked.why);
  } else {
    const probe = await probeOverlay(join(root, "snapshots", "tmp")).catch((e: Error) => ({ ok: false as const, reason: e.message }));
    if (probe.ok) snap = { kind: "overlay", why: "kernel overlayfs mounts on the store's file system" };
    else if (snapshotter === "overlay") {
      snap = { kind: "overlay", why: `asked for (--snapshotter overlay), but overlayfs does not mount here: ${probe.reason}` };
      problems.push(`overlayfs does not mount on the store's file system (${probe.reason}): use --snapshotter copy, or a store on another file system (--root)`);
    } else snap = { kind: "copy", why: `overlayfs does not mount on the store's file system: ${probe.reason}` };
  }
  const tools = systemTools();
  const core = new Set<string>(["runc", ...(snap.kind === "overlay" ? ["mount", "umount", "getfattr"] : ["cp"])]);
  for (const t of tools) if (!t.path && core.has(t.name)) problems.push(`${t.name} is missing (needed for ${t.needs}): apt-get install ${t.pkg}`);
  const runc = findTool("runc");
  const storeExists = await exists(root);
  return {
    node: process.version,
    store: { root, exists: storeExists, size: storeExists ? await dirSize(root).catch(() => 0) : 0 },
    snapshotter: snap,
    runtime: { name: "runc", ...(runc ? { path: runc } : {}), ...(runc ? { version: await firstLine(runc, ["--version"]) } : {}) },
    cgroup: (await exists("/sys/fs/cgroup/cgroup.controllers")) ? "v2" : "v1",
    user: {
      uid, mode: iso.rootless || uid !== 0 ? "rootless" : "root", ...(ns.inside ? { uidMap: ns.uidMap, gidMap: ns.gidMap } : {}),
      ...(iso.idMapping ? { idMapping: iso.idMapping } : {}), ...(iso.processSandbox ? { processSandbox: iso.processSandbox } : {}), ...(iso.why ? { why: iso.why } : {}),
    },
    security: { seccomp: seccomp.mode, noNewPrivs: seccomp.noNewPrivs, sysAdmin: hasSysAdmin() },
    kernel: { release: release(), overlayfs, userNamespaces: await userNamespaces() },
    tools,
    // the registry client is loaded when used (a build that needs no registry never pays for undici)
    registries: await import("@tsbuild/registry").then((r) => r.registryConfigSummary(env)).catch(() => ({ path: "", logins: [], credHelpers: {} })),
    problems,
  };
}
