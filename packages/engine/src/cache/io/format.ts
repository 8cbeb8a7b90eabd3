/**
 * The shared cache format (README "Sharing the cache in CI"): an OCI image manifest with
 * artifactType `application/vnd.tsbuild.cache.v1`; its config blob
 * (`application/vnd.tsbuild.cache.config.v1+json`) is `{"records":[…]}`, the local cache records
 * carried verbatim (every field, including ones this code does not know); its layers are the
 * records' layer blobs, as stored (uncompressed tars: digest = diff id). The inline form puts the
 * same `{"records":[…]}` under the image config key `tsbuild.cache.v1`.
 */
import { checkDescriptor, isDigest, MediaTypes, sha256Digest, type Descriptor, type Digest, type ImageManifest } from "@tsbuild/oci";
import type { CacheRecord } from "../build-cache.js";

export const CACHE_ARTIFACT_TYPE = "application/vnd.tsbuild.cache.v1";
export const CACHE_CONFIG_MEDIA_TYPE = "application/vnd.tsbuild.cache.config.v1+json";
/** the image config key of an inline cache */
export const INLINE_CACHE_KEY = "tsbuild.cache.v1";

export interface CacheDocument {
  records: CacheRecord[];
}

export class CacheFormatError extends Error {
  override readonly name = "CacheFormatError";
}

/** Records sorted by key and deduplicated: the same records always give the same bytes (and digests). */
export function cacheDocument(records: Iterable<CacheRecord>): CacheDocument {
  const byKey = new Map<string, CacheRecord>();
  for (const r of records) byKey.set(r.key, r);
  return { records: [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) };
}

/** The layer blobs a document's records need, each once, in record order. */
export function cacheLayers(doc: CacheDocument): Descriptor[] {
  const seen = new Map<Digest, Descriptor>();
  for (const r of doc.records) if (r.layer && !seen.has(r.layer.descriptor.digest)) seen.set(r.layer.descriptor.digest, r.layer.descriptor);
  return [...seen.values()];
}

export function cacheManifest(config: Descriptor, layers: Descriptor[]): ImageManifest {
  return { schemaVersion: 2, mediaType: MediaTypes.OCI_MANIFEST, artifactType: CACHE_ARTIFACT_TYPE, config, layers };
}

export interface EncodedCache {
  config: { descriptor: Descriptor; bytes: Buffer };
  manifest: { descriptor: Descriptor; bytes: Buffer };
  layers: Descriptor[];
}

/** The config blob and manifest of a cache document (the layers are the records' blobs, already stored). */
export function encodeCache(doc: CacheDocument): EncodedCache {
  const configBytes = Buffer.from(JSON.stringify(doc));
  const config: Descriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256Digest(configBytes), size: configBytes.length };
  const layers = cacheLayers(doc);
  const manifestBytes = Buffer.from(JSON.stringify(cacheManifest(config, layers)));
  const manifest: Descriptor = { mediaType: MediaTypes.OCI_MANIFEST, digest: sha256Digest(manifestBytes), size: manifestBytes.length, artifactType: CACHE_ARTIFACT_TYPE };
  return { config: { descriptor: config, bytes: configBytes }, manifest: { descriptor: manifest, bytes: manifestBytes }, layers };
}

export function isCacheManifest(m: ImageManifest): boolean {
  return m.artifactType === CACHE_ARTIFACT_TYPE || m.config.mediaType === CACHE_CONFIG_MEDIA_TYPE;
}

/** A record as imported: shape-checked where this code relies on it, every other field kept as it came. */
function checkRecord(r: unknown, descriptors: boolean): CacheRecord | undefined {
  if (typeof r !== "object" || r === null || Array.isArray(r)) return undefined;
  const rec = r as Record<string, unknown>;
  if (typeof rec.key !== "string" || !isDigest(rec.key)) return undefined;
  if (rec.layer !== undefined) {
    const layer = rec.layer as Record<string, unknown> | null;
    if (typeof layer !== "object" || layer === null || typeof layer.diffId !== "string" || !isDigest(layer.diffId)) return undefined;
    try {
      if (descriptors) checkDescriptor(layer.descriptor, "cache record layer");
    } catch {
      return undefined;
    }
  }
  return rec as unknown as CacheRecord;
}

/** Parses `{"records":[…]}`; malformed records are dropped (a miss), a malformed document is an error. */
/** @param descriptors whether records name their layer blobs (an inline cache names layers by diff id only) */
export function parseCacheDocument(value: unknown, where: string, descriptors = true): CacheDocument {
  const records = (value as { records?: unknown } | null)?.records;
  if (typeof value !== "object" || value === null || !Array.isArray(records)) {
    throw new CacheFormatError(`${where} is not a tsbuild cache (no "records" list); export it again with --cache-to`);
  }
  return { records: records.map((r) => checkRecord(r, descriptors)).filter((r): r is CacheRecord => r !== undefined) };
}

export function parseCacheJson(bytes: Uint8Array, where: string): CacheDocument {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (e) {
    throw new CacheFormatError(`${where} is not valid JSON (${(e as Error).message}); export it again with --cache-to`);
  }
  return parseCacheDocument(value, where);
}
