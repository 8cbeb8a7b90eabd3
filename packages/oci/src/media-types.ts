export const MediaTypes = {
  OCI_INDEX: "application/vnd.oci.image.index.v1+json",
  OCI_MANIFEST: "application/vnd.oci.image.manifest.v1+json",
  OCI_CONFIG: "application/vnd.oci.image.config.v1+json",
  OCI_LAYER_TAR: "application/vnd.oci.image.layer.v1.tar",
  OCI_LAYER_GZIP: "application/vnd.oci.image.layer.v1.tar+gzip",
  OCI_LAYER_ZSTD: "application/vnd.oci.image.layer.v1.tar+zstd",
  OCI_EMPTY: "application/vnd.oci.empty.v1+json",
  DOCKER_MANIFEST_LIST: "application/vnd.docker.distribution.manifest.list.v2+json",
  DOCKER_MANIFEST: "application/vnd.docker.distribution.manifest.v2+json",
  DOCKER_CONFIG: "application/vnd.docker.container.image.v1+json",
  DOCKER_LAYER_GZIP: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  DOCKER_LAYER_TAR: "application/vnd.docker.image.rootfs.diff.tar",
  DOCKER_FOREIGN_LAYER: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

export type LayerCompression = "none" | "gzip" | "zstd";

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt === MediaTypes.OCI_INDEX || mt === MediaTypes.DOCKER_MANIFEST_LIST;
}
export function isManifestMediaType(mt: string | undefined): boolean {
  return mt === MediaTypes.OCI_MANIFEST || mt === MediaTypes.DOCKER_MANIFEST;
}

/** The compression a layer media type declares. */
export function layerCompression(mt: string): LayerCompression {
  if (mt.endsWith("+gzip") || mt.endsWith(".tar.gzip")) return "gzip";
  if (mt.endsWith("+zstd")) return "zstd";
  return "none";
}

export function ociLayerMediaType(c: LayerCompression): string {
  return c === "gzip" ? MediaTypes.OCI_LAYER_GZIP : c === "zstd" ? MediaTypes.OCI_LAYER_ZSTD : MediaTypes.OCI_LAYER_TAR;
}
