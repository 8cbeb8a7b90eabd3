import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { release } from "node:os";
import { ownerStamp, writeFileAtomic } from "@tsbuild/oci";
import type { Snapshotter } from "./snapshotter.js";
import { OverlaySnapshotter } from "./overlay.js";
import { CopySnapshotter } from "./copy.js";
import { mountOverlay, unmount } from "./mounts.js";

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
  const stamp = `${(await stat(scratch)).dev} ${release()}`;
  if ((await readFile(marker, "utf8").catch(() => "")) === stamp) return true;
  const ok = await overlaySupported(scratch);
  if (ok) await writeFileAtomic(marker, stamp);
  return ok;
}

/** The overlay snapshotter where overlayfs works, else the copy snapshotter; or the one asked for. */
export async function chooseSnapshotter(root: string, kind: "auto" | "overlay" | "copy" = "auto"): Promise<Snapshotter> {
  if (kind === "copy") return new CopySnapshotter(join(root, "copy"));
  if (kind === "overlay" || (await overlayWorksHere(root))) return new OverlaySnapshotter(join(root, "overlay"));
  return new CopySnapshotter(join(root, "copy"));
}
