/**
 * Reading manifests, indexes and configs: parsed and checked, so a malformed document is a clear
 * InvalidContentError instead of a crash later. Docker schema 2 documents are accepted as they are
 * (same shape, Docker media types).
 */
import { isDigest } from "./digest.js";
import { InvalidContentError } from "./errors.js";
import { isIndexMediaType, isManifestMediaType } from "./media-types.js";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from "./types/image.js";

function json(text: string | Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(typeof text === "string" ? text : Buffer.from(text).toString("utf8"));
  } catch (e) {
    throw new InvalidContentError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new InvalidContentError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

export function checkDescriptor(d: unknown, what: string): Descriptor {
  if (typeof d !== "object" || d === null) throw new InvalidContentError(`${what}: descriptor is not an object`);
  const r = d as Record<string, unknown>;
  if (typeof r.mediaType !== "string" || r.mediaType === "") throw new InvalidContentError(`${what}: descriptor has no mediaType`);
  if (typeof r.digest !== "string" || !isDigest(r.digest)) throw new InvalidContentError(`${what}: bad digest ${JSON.stringify(r.digest)}`);
  if (typeof r.size !== "number" || !Number.isSafeInteger(r.size) || r.size < 0) throw new InvalidContentError(`${what}: bad size ${JSON.stringify(r.size)}`);
  return r as unknown as Descriptor;
}

export function parseIndex(text: string | Uint8Array): ImageIndex {
  const j = json(text, "image index");
  if (j.schemaVersion !== 2) throw new InvalidContentError(`image index: schemaVersion must be 2, got ${JSON.stringify(j.schemaVersion)}`);
  if (j.mediaType !== undefined && !isIndexMediaType(j.mediaType as string)) {
    throw new InvalidContentError(`image index: unexpected mediaType ${JSON.stringify(j.mediaType)}`);
  }
  if (!Array.isArray(j.manifests)) throw new InvalidContentError("image index: manifests is not a list");
  j.manifests.forEach((m, i) => checkDescriptor(m, `image index manifests[${i}]`));
  return j as unknown as ImageIndex;
}

export function parseManifest(text: string | Uint8Array): ImageManifest {
  const j = json(text, "image manifest");
  if (j.schemaVersion !== 2) throw new InvalidContentError(`image manifest: schemaVersion must be 2, got ${JSON.stringify(j.schemaVersion)}`);
  if (j.mediaType !== undefined && !isManifestMediaType(j.mediaType as string)) {
    throw new InvalidContentError(`image manifest: unexpected mediaType ${JSON.stringify(j.mediaType)}`);
  }
  checkDescriptor(j.config, "image manifest config");
  if (!Array.isArray(j.layers)) throw new InvalidContentError("image manifest: layers is not a list");
  j.layers.forEach((l, i) => checkDescriptor(l, `image manifest layers[${i}]`));
  return j as unknown as ImageManifest;
}

export function parseConfig(text: string | Uint8Array): ImageConfig {
  const j = json(text, "image config");
  if (typeof j.os !== "string" || typeof j.architecture !== "string") {
    throw new InvalidContentError("image config: os and architecture are required");
  }
  const rootfs = j.rootfs as Record<string, unknown> | undefined;
  if (!rootfs || rootfs.type !== "layers" || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every((d) => typeof d === "string" && isDigest(d))) {
    throw new InvalidContentError("image config: rootfs must be {type: layers, diff_ids: [sha256 digests]}");
  }
  return j as unknown as ImageConfig;
}

/** Whether a JSON document is an index (by mediaType, or by shape when mediaType is absent). */
export function looksLikeIndex(text: string | Uint8Array): boolean {
  const j = json(text, "document");
  return isIndexMediaType(j.mediaType as string | undefined) || (j.mediaType === undefined && Array.isArray(j.manifests));
}
