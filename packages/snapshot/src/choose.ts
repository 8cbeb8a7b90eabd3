import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { release } from "node:os";
import { ownerStamp, writeFileAtomic } from "@tsbuild/oci";
import type { Snapshotter } from "./snapshotter.js";
import { OverlaySnapshotter } from "./overlay.js";
import { CopySnapshotter } from "./copy.js";
import { mountOverlay, overlayXattrs, unmount } from "./mounts.js";
import { SnapshotterError } from "./errors.js";

/** probe results by file system (device id): overlay works on one and not on another (e.g. over overlayfs) */
const probed = new Map<number, OverlayProbe>();

/** Whether overlayfs mounted, and when not, what the mount said. */
export type OverlayProbe = { ok: true } | { ok: false; reason: string };

/** Mounts a two-layer overlay on the file system of `scratch` (probed once per file system). */
export async function probeOverlay(scratch: string): Promise<OverlayProbe> {
  await mkdir(scratch, { recursive: true });
  const dev = (await stat(scratch)).dev;
  const known = probed.get(dev);
  if (known !== undefined) return known;
  const d = await mkdtemp(join(scratch, `overlay-probe-${ownerStamp()}-`));
  let result: OverlayProbe;
  try {
    for (const s of ["l1", "l2", "u", "w", "m"]) await mkdir(join(d, s));
    await mountOverlay(join(d, "m"), ["l1", "l2"], "u", "w", d);
    await unmount(join(d, "m"));
    result = { ok: true };
  } catch (e) {
    result = { ok: false, reason: (e as Error).message };
  } finally {
    await rm(d, { recursive: true, force: true });
  }
  probed.set(dev, result);
  return result;
}

/** Whether overlayfs mounts work with upper and lower dirs on the file system of `scratch`. */
export async function overlaySupported(scratch: string): Promise<boolean> {
  return (await probeOverlay(scratch)).ok;
}

/**
 * A successful probe is remembered in the store (<root>/overlay-ok: the file system's device id and
 * the kernel release), so a later tsbuild process on the same store and kernel does not mount and
 * unmount again (tens of milliseconds of every no-op rebuild). A failed probe is not remembered.
 */
async function overlayWorksHere(root: string): Promise<boolean> {
  const scratch = join(root, "tmp");
  await mkdir(scratch, { recursive: true });
  const marker = join(root, "overlay-ok");
  // the xattr mode is part of it: a probe as root says nothing of a mount in a user namespace
  const stamp = `${(await stat(scratch)).dev} ${release()}${overlayXattrs().kind === "user" ? " userxattr" : ""}`;
  if ((await readFile(marker, "utf8").catch(() => "")) === stamp) return true;
  const ok = await overlaySupported(scratch);
  if (ok) await writeFileAtomic(marker, stamp);
  return ok;
}

/** The snapshotter a build uses, and why (for `tsbuild info` and a rootless build's progress). */
export interface SnapshotterChoice {
  snapshotter: Snapshotter;
  why: string;
}

/**
 * Which xattrs the overlay snapshots of this store keep their opaque markers in (`overlay/xattrs`:
 * "trusted" or "user", mounts.ts), written by the first overlay build. A store made before the
 * marker has trusted ones (only root could build then).
 */
async function storeOverlayXattrs(dir: string): Promise<"trusted" | "user" | undefined> {
  const text = (await readFile(join(dir, "xattrs"), "utf8").catch(() => "")).trim();
  if (text === "trusted" || text === "user") return text;
  const committed = await readdir(join(dir, "c")).catch(() => [] as string[]);
  return committed.length ? "trusted" : undefined;
}

/**
 * The overlay snapshotter where overlayfs works and this store's overlay snapshots were made in
 * the same xattr mode (a user namespace's user.overlay.*, the host's trusted.overlay.*: mounted in
 * the other mode, an opaque directory would not be one), else the copy snapshotter; or the one
 * asked for (SnapshotterError when overlay is asked for and the store's snapshots are of the other mode).
 */
export async function pickSnapshotter(root: string, kind: "auto" | "overlay" | "copy" = "auto"): Promise<SnapshotterChoice> {
  const copy = () => new CopySnapshotter(join(root, "copy"));
  if (kind === "copy") return { snapshotter: copy(), why: "asked for (--snapshotter copy)" };
  const mode = overlayXattrs().kind;
  const dir = join(root, "overlay");
  const made = await storeOverlayXattrs(dir);
  if (made !== undefined && made !== mode) {
    const why = `this store's overlay snapshots keep ${made}.overlay.* xattrs, which ${mode === "user" ? "a user namespace cannot use" : "overlayfs reads only in a user namespace"}`;
    if (kind === "overlay") throw new SnapshotterError(`--snapshotter overlay: ${why}: use --snapshotter copy, or another store (--root)`);
    return { snapshotter: copy(), why };
  }
  const works = kind === "overlay" || (await overlayWorksHere(root));
  if (!works) {
    const probe = await probeOverlay(join(root, "tmp"));
    return { snapshotter: copy(), why: `overlayfs does not mount on the store's file system${probe.ok ? "" : `: ${probe.reason}`}` };
  }
  const inNs = mode === "user" ? " in the user namespace (userxattr)" : "";
  // the store's mode is written with its first overlay snapshot (nothing is made before a step)
  return { snapshotter: new OverlaySnapshotter(dir, made === undefined ? { xattrsMarker: mode } : {}), why: kind === "overlay" ? `asked for (--snapshotter overlay)${inNs}` : `kernel overlayfs mounts on the store's file system${inNs}` };
}

/** The overlay snapshotter where overlayfs works, else the copy snapshotter; or the one asked for (pickSnapshotter). */
export async function chooseSnapshotter(root: string, kind: "auto" | "overlay" | "copy" = "auto"): Promise<Snapshotter> {
  return (await pickSnapshotter(root, kind)).snapshotter;
}
