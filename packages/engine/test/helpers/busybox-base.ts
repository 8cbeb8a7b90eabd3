import { join } from "node:path";
import { busyboxTar, makeBusyboxRootfs } from "../../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../../fixtures/support/base-image.js";

/**
 * Puts a one-layer busybox image named `name` (Env PATH, Cmd sh, created 2020-01-01) into the store
 * at `root`, its root file system made under `work`: the base image engine tests build on.
 */
export async function storeBusyboxBase(root: string, name: string, work: string): Promise<void> {
  await storeBaseImage(root, name, busyboxTar(makeBusyboxRootfs(join(work, "rootfs"))));
}
