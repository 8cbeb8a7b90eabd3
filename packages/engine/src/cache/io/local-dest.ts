/**
 * --cache-to type=local,dest=DIR: the cache as an OCI image layout (oci-layout, index.json,
 * blobs/sha256) that CI saves and restores between runs. Every blob goes through a content store
 * rooted at DIR (temp file, verified, fsync'd, renamed), blobs already there are re-hashed and kept
 * only if intact, index.json is replaced atomically last, then blobs no longer referenced are
 * removed: a killed export leaves the previous cache readable, and the directory does not grow
 * from run to run.
 */
import { createHash } from "node:crypto";
import { rmdir } from "node:fs/promises";
import { join } from "node:path";
import { LocalContentStore, MediaTypes, writeFileAtomic, type Descriptor, type Digest, type ImageIndex, type Store } from "@tsbuild/oci";
import type { EncodedCache } from "./format.js";

async function intact(dir: LocalContentStore, d: Descriptor): Promise<boolean> {
  const info = await dir.info(d.digest);
  if (!info || info.size !== d.size) return false;
  const h = createHash("sha256");
  for await (const chunk of dir.reader(d.digest)) h.update(chunk as Buffer);
  return `sha256:${h.digest("hex")}` === d.digest;
}

export async function writeLocalCache(store: Store, cache: EncodedCache, dest: string): Promise<void> {
  const dir = new LocalContentStore(dest);
  for (const layer of cache.layers) {
    if (await intact(dir, layer)) continue;
    await dir.ingest(store.content.reader(layer.digest), { digest: layer.digest, size: layer.size });
  }
  for (const { descriptor, bytes } of [cache.config, cache.manifest]) await dir.putBytes(bytes, { digest: descriptor.digest, size: descriptor.size });
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaTypes.OCI_INDEX,
    manifests: [{ ...cache.manifest.descriptor, annotations: { "org.opencontainers.image.ref.name": "cache" } }],
  };
  await writeFileAtomic(join(dest, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFileAtomic(join(dest, "index.json"), JSON.stringify(index));
  const keep = new Set<Digest>([cache.config.descriptor.digest, cache.manifest.descriptor.digest, ...cache.layers.map((l) => l.digest)]);
  for await (const blob of dir.walk()) if (!keep.has(blob.digest)) await dir.delete(blob.digest);
  // the content store's ingest directory (and what a killed export left there) is no part of an OCI layout
  await dir.cleanIngest();
  await rmdir(join(dest, "blobs", "ingest")).catch(() => undefined);
}
