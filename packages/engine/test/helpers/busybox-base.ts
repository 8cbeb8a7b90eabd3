import { join } from "node:path";
import { Readable } from "node:stream";
import { DigestingStream, MediaTypes, Store, writeImage } from "@tsbuild/oci";
import { BASE_ENV_PATH, busyboxTar, makeBusyboxRootfs } from "../../../../fixtures/support/busybox-rootfs.js";

/**
 * Puts a one-layer busybox image named `name` (Env PATH, Cmd sh, created 2020-01-01) into the store
 * at `root`, its root file system made under `work`: the base image engine tests build on.
 */
export async function storeBusyboxBase(root: string, name: string, work: string): Promise<void> {
  const store = await Store.open(root);
  const blob = await store.content.ingest(Readable.from([busyboxTar(makeBusyboxRootfs(join(work, "rootfs")))]).pipe(new DigestingStream()));
  const img = await writeImage(store.content, { architecture: "amd64", os: "linux", created: "2020-01-01T00:00:00Z", config: { Env: [BASE_ENV_PATH], Cmd: ["sh"] } },
    [{ descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest: blob.digest, size: blob.size }, diffId: blob.digest }]);
  await store.images.put(name, img.manifest);
}
