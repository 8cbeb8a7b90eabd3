/**
 * Mount lifecycle: every mount tsbuild makes is recorded, and unmounted on release, on failure,
 * and when the process is interrupted (SIGINT/SIGTERM) or exits, so a build never leaks a mount.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { exec, execOk } from "./exec.js";
import { findTool, inUserNamespace, MNT_DETACH, MS_BIND, MS_RDONLY, MS_REMOUNT, SysCallError, sysHelper, SysHelperGone } from "@tsbuild/oci";

const active = new Set<string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const cleanup = () => {
    // synchronous best effort at exit: lazy-unmount everything still mounted
    for (const target of [...active].reverse()) spawnSync(findTool("umount") ?? "umount", ["-l", target]);
    active.clear();
  };
  process.once("exit", cleanup);
}

/**
 * Always off, whatever the kernel's defaults: with redirect_dir a renamed directory becomes a
 * `trusted.overlay.redirect` xattr in the upper dir, and with metacopy a chmod/chown a metadata-only
 * copy-up, neither of which a layer diff can express. Off, the kernel copies up (mv falls back to
 * copy + delete on EXDEV) and the upper dir holds real entries.
 */
export const OVERLAY_FEATURES_OFF = ["redirect_dir=off", "metacopy=off"];

/**
 * How overlayfs keeps its markers (opaque directories; redirects and metacopy are off either way):
 * in trusted.overlay.* xattrs, which only the host's root may set, or — in a user namespace
 * (rootless), where the kernel refuses trusted.* — in user.overlay.* with the `userxattr` option
 * (Linux 5.11), which takes redirect_dir=nofollow (off would still follow).
 */
export interface OverlayXattrs {
  kind: "trusted" | "user";
  /** the xattr of an opaque directory */
  opaque: string;
  /** the prefix of every xattr overlayfs reads in this mode */
  prefix: string;
  options: readonly string[];
}

export const TRUSTED_XATTRS: OverlayXattrs = { kind: "trusted", opaque: "trusted.overlay.opaque", prefix: "trusted.overlay.", options: OVERLAY_FEATURES_OFF };
export const USER_XATTRS: OverlayXattrs = { kind: "user", opaque: "user.overlay.opaque", prefix: "user.overlay.", options: ["userxattr", "redirect_dir=nofollow", "metacopy=off"] };

/** The mode this process mounts overlays in: user xattrs in a user namespace, else trusted ones. */
export function overlayXattrs(): OverlayXattrs {
  return inUserNamespace() ? USER_XATTRS : TRUSTED_XATTRS;
}

export async function mountOverlay(target: string, lowers: string[], upper: string | undefined, work: string | undefined, cwd: string): Promise<void> {
  hookExit();
  const opts = [`lowerdir=${lowers.join(":")}`, ...overlayXattrs().options];
  if (upper && work) opts.push(`upperdir=${upper}`, `workdir=${work}`);
  // lowerdir with a single dir and no upper needs at least two lowers: use a read-only bind then
  const bind = !upper && lowers.length === 1;
  if (!(await mountBySyscall(target, lowers, opts, bind, cwd))) {
    if (bind) {
      await execOk("mount", ["--bind", "-o", "ro", lowers[0] as string, target], { cwd });
      await execOk("mount", ["-o", "remount,bind,ro", target], { cwd });
    } else {
      await execOk("mount", ["-t", "overlay", "overlay", "-o", opts.join(","), target], { cwd });
    }
  }
  active.add(target);
}

/**
 * The mount through tsbuild-sys (oci/src/sys-helper.ts) as mount(8) would make it; false when there
 * is no helper (the caller spawns mount). A failing call is the error mount(8) would have reported.
 */
async function mountBySyscall(target: string, lowers: string[], opts: string[], bind: boolean, cwd: string): Promise<boolean> {
  const h = sysHelper();
  if (!h) return false;
  try {
    if (bind) {
      await h.mount({ cwd, source: lowers[0] as string, target, flags: MS_BIND });
      await h.mount({ cwd, target, flags: MS_REMOUNT | MS_BIND | MS_RDONLY });
    } else {
      await h.mount({ cwd, source: "overlay", target, fstype: "overlay", data: opts.join(",") });
    }
    return true;
  } catch (e) {
    if (e instanceof SysHelperGone) return false;
    throw new Error(`mount ${bind ? "--bind" : "-t overlay"} ${target} failed: ${(e as Error).message}`);
  }
}

/**
 * umount2 through tsbuild-sys, lazily (MNT_DETACH) when `lazy`, or when busy and `busyLazy`:
 * "done" (unmounted or not mounted), undefined when there is no helper (spawn umount instead).
 */
async function unmountBySyscall(target: string, lazy: boolean): Promise<"done" | undefined> {
  const h = sysHelper();
  if (!h) return undefined;
  try {
    try {
      await h.umount(target, lazy ? MNT_DETACH : 0);
    } catch (e) {
      if (!(e instanceof SysCallError) || e.code !== "EBUSY" || lazy) throw e;
      await h.umount(target, MNT_DETACH);
    }
    return "done";
  } catch (e) {
    if (e instanceof SysHelperGone) return undefined;
    // not a mount point (EINVAL) or gone (ENOENT): as umount's "not mounted"
    if (e instanceof SysCallError && (e.code === "EINVAL" || e.code === "ENOENT")) return "done";
    throw new Error(`umount ${target}: ${(e as Error).message}`);
  }
}

export async function unmount(target: string): Promise<void> {
  if (!active.has(target)) return;
  if ((await unmountBySyscall(target, false)) === undefined) {
    let r = await exec("umount", [target]);
    if (r.code !== 0) r = await exec("umount", ["-l", target]);
    if (r.code !== 0 && !/not mounted|no mount point/.test(r.stderr)) throw new Error(`umount ${target}: ${r.stderr.trim()}`);
  }
  active.delete(target);
}

export function activeMounts(): string[] {
  return [...active];
}

export async function unmountAll(): Promise<void> {
  for (const t of [...active].reverse()) await unmount(t);
}

/** Mount points (in this mount namespace) at or under `dir`, deepest first: one (synchronous, small) read of /proc/self/mountinfo. */
export function mountPointsUnder(dir: string): string[] {
  let text = "";
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return text.split("\n").map((l) => l.split(" ")[4]).filter((t): t is string => !!t)
    .map((t) => t.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((t) => t === dir || t.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts a mount point lazily (a dead build's: nothing of ours uses it); one already gone is fine. */
export async function unmountLazy(target: string): Promise<void> {
  const done = await unmountBySyscall(target, true).catch((e: Error) => {
    throw new Error(`${e.message} (unmount it by hand, then prune again)`);
  });
  if (done === undefined) {
    const r = await exec("umount", ["-l", target]);
    if (r.code !== 0 && !/not mounted|no mount point|not found/.test(r.stderr)) throw new Error(`umount ${target}: ${r.stderr.trim()} (unmount it by hand, then prune again)`);
  }
  active.delete(target);
}

/**
 * Lazily unmounts every mount at or under `dir` (deepest first), e.g. what a killed build left
 * in its scratch or active snapshot dir, so removing the dir never deletes through a mount.
 */
export async function unmountUnder(dir: string): Promise<void> {
  for (const t of mountPointsUnder(dir)) await unmountLazy(t);
}
