import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Snapshotter } from "./snapshotter.js";
import { OverlaySnapshotter } from "./overlay.js";
import { CopySnapshotter } from "./copy.js";
import { mountOverlay, unmount } from "./mounts.js";

let probed: boolean | undefined;

/** Whether overlayfs mounts work here (probed once). */
export async function overlaySupported(scratch: string): Promise<boolean> {
  if (probed !== undefined) return probed;
  await mkdir(scratch, { recursive: true });
  const d = await mkdtemp(join(scratch, "overlay-probe-"));
  try {
    for (const s of ["l1", "l2", "u", "w", "m"]) await mkdir(join(d, s));
    await mountOverlay(join(d, "m"), ["l1", "l2"], "u", "w", d);
    await unmount(join(d, "m"));
    probed = true;
  } catch {
    probed = false;
  } finally {
    await rm(d, { recursive: true, force: true });
  }
  return probed;
}

/** The overlay snapshotter where overlayfs works, else the copy snapshotter; or the one asked for. */
export async function chooseSnapshotter(root: string, kind: "auto" | "overlay" | "copy" = "auto"): Promise<Snapshotter> {
  if (kind === "copy") return new CopySnapshotter(join(root, "copy"));
  if (kind === "overlay" || (await overlaySupported(join(root, "tmp")))) return new OverlaySnapshotter(join(root, "overlay"));
  return new CopySnapshotter(join(root, "copy"));
}
