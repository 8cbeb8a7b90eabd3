/**
 * --cache-to type=inline: the records of the final image's steps go into the image config itself,
 * under `tsbuild.cache.v1` (as BuildKit's inline cache goes under `moby.buildkit.cache.v0`), so the
 * image carries its own cache wherever it is pushed or exported. Their layers are the image's own:
 * on import each record's layer is taken from the image manifest by diff id, so a pushed copy with
 * recompressed layers still serves its cache. (The config changes, so the image id of a build with
 * --cache-to type=inline differs from one without; the same flags give the same id.)
 */
import type { Descriptor, Digest, ImageManifest } from "@tsbuild/oci";
import type { CacheRecord } from "../build-cache.js";
import { cacheDocument, INLINE_CACHE_KEY, parseCacheDocument, type CacheDocument } from "./format.js";

/**
 * Records name their layers by diff id only: the image's manifest says which blob holds each (its
 * layers may be stored uncompressed here and pushed gzipped, and an image built from an imported
 * cache holds the blobs it came with), so the config, and the image id, do not depend on it.
 */
export function inlineCacheField(records: CacheRecord[]): Record<typeof INLINE_CACHE_KEY, CacheDocument> {
  const byDiffId = records.map((r) => (r.layer ? { ...r, layer: { diffId: r.layer.diffId } } : r) as CacheRecord);
  return { [INLINE_CACHE_KEY]: cacheDocument(byDiffId) };
}

export function hasInlineCache(config: Record<string, unknown>): boolean {
  return config[INLINE_CACHE_KEY] !== undefined;
}

/** The inline records of an image (config as parsed JSON); records whose layer the image lacks are dropped. */
export function inlineRecords(config: Record<string, unknown>, manifest: ImageManifest, where: string): CacheRecord[] {
  const doc = parseCacheDocument(config[INLINE_CACHE_KEY], `the inline cache of ${where}`, false);
  const diffIds = ((config.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids ?? []) as Digest[];
  const byDiffId = new Map<Digest, Descriptor>();
  diffIds.forEach((d, i) => {
    const l = manifest.layers[i];
    if (l) byDiffId.set(d, l);
  });
  const out: CacheRecord[] = [];
  for (const r of doc.records) {
    if (!r.layer) {
      out.push(r);
      continue;
    }
    const descriptor = byDiffId.get(r.layer.diffId);
    if (descriptor) out.push({ ...r, layer: { ...r.layer, descriptor } });
  }
  return out;
}
