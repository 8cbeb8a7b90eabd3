/** Writing an image (config + manifest) into the store from layers already there. */
import type { ContentStore } from "./content-store.js";
import type { Digest } from "./digest.js";
import { MediaTypes } from "./media-types.js";
import type { Descriptor, ImageConfig, ImageManifest } from "./types/image.js";

export interface StoredLayer {
  descriptor: Descriptor;
  diffId: Digest;
}

export interface WrittenImage {
  /** the manifest descriptor (what names point to) */
  manifest: Descriptor;
  /** the config descriptor; its digest is the image id */
  config: Descriptor;
}

/** Writes config (with rootfs.diff_ids filled from the layers) and an OCI manifest. */
export async function writeImage(
  store: ContentStore,
  config: Omit<ImageConfig, "rootfs">,
  layers: StoredLayer[],
  annotations?: Record<string, string>,
): Promise<WrittenImage> {
  const full: ImageConfig = { ...config, rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) } };
  const cfgBytes = Buffer.from(JSON.stringify(full));
  const cfg = await store.putBytes(cfgBytes);
  const configDesc: Descriptor = { mediaType: MediaTypes.OCI_CONFIG, digest: cfg.digest, size: cfg.size };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.OCI_MANIFEST,
    config: configDesc,
    layers: layers.map((l) => l.descriptor),
    ...(annotations ? { annotations } : {}),
  };
  const man = await store.putBytes(JSON.stringify(manifest));
  return { manifest: { mediaType: MediaTypes.OCI_MANIFEST, digest: man.digest, size: man.size }, config: configDesc };
}
