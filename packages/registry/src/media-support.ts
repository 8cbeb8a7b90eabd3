/**
 * Which manifest, config and layer media types a pull accepts, checked before anything is stored:
 * OCI and Docker schema 2 images and indexes. Anything else (Docker schema 1, artifacts, unknown
 * layer types) is an UnsupportedMediaTypeError that says what was found and what to do.
 */
import { isIndexMediaType, isManifestMediaType, MediaTypes, type ImageManifest } from "@tsbuild/oci";
import { RegistryError, UnsupportedMediaTypeError } from "./errors.js";

const SCHEMA1 = /^application\/vnd\.docker\.distribution\.manifest\.v1\+(prettyjws|json)$/;
const CONFIG_TYPES = new Set<string>([MediaTypes.OCI_CONFIG, MediaTypes.DOCKER_CONFIG]);
const LAYER_TYPES = new Set<string>([
  MediaTypes.OCI_LAYER_TAR, MediaTypes.OCI_LAYER_GZIP, MediaTypes.OCI_LAYER_ZSTD,
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  MediaTypes.DOCKER_LAYER_GZIP, MediaTypes.DOCKER_LAYER_TAR, MediaTypes.DOCKER_FOREIGN_LAYER,
]);

export interface ManifestJson {
  schemaVersion?: unknown;
  mediaType?: string;
  manifests?: unknown;
}

/** The manifest body as JSON, or a RegistryError saying the registry sent something else. */
export function manifestJson(bytes: Buffer, where: string): ManifestJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    const start = bytes.subarray(0, 60).toString("utf8").replace(/\s+/g, " ");
    throw new RegistryError(`${where}: the registry answered with a manifest that is not JSON (${(e as Error).message}; it starts with ${JSON.stringify(start)}); is this a registry, or a proxy's error page?`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new RegistryError(`${where}: the registry answered with a manifest that is not a JSON object`);
  }
  return parsed as ManifestJson;
}

/** Throws unless `mediaType` is an image manifest or index tsbuild can pull. */
export function checkManifestMediaType(mediaType: string, json: ManifestJson, where: string): void {
  if (json.schemaVersion === 1 || SCHEMA1.test(mediaType)) {
    throw new UnsupportedMediaTypeError(`${where} is a Docker schema 1 manifest (${mediaType || "schemaVersion 1"}), which tsbuild does not pull: convert it with \`skopeo copy --format v2s2\` or push it again with a current docker`, 415);
  }
  if (!isIndexMediaType(mediaType) && !isManifestMediaType(mediaType)) {
    throw new UnsupportedMediaTypeError(`${where} has media type ${mediaType || "(none)"}, not an image: tsbuild pulls OCI and Docker schema 2 images and indexes`, 415);
  }
}

/** Throws unless the manifest's config and every layer have media types tsbuild can unpack. */
export function checkBlobMediaTypes(manifest: ImageManifest, where: string): void {
  if (!CONFIG_TYPES.has(manifest.config.mediaType)) {
    throw new UnsupportedMediaTypeError(`${where}: config media type ${manifest.config.mediaType} is not an image config (this is an artifact, not a container image)`, 415);
  }
  for (const l of manifest.layers) {
    if (!LAYER_TYPES.has(l.mediaType)) {
      throw new UnsupportedMediaTypeError(`${where}: layer ${l.digest} has media type ${l.mediaType}, which tsbuild cannot unpack (it takes OCI and Docker tar, tar+gzip and tar+zstd layers)`, 415);
    }
  }
}
