/**
 * --cache-from type=local,src=DIR: an OCI image layout written by --cache-to type=local. Its
 * index.json, manifest and config are read at the start of the build (each blob checked against
 * its digest); a layer is copied into the store only when a step hits its record, through the
 * content store's writer, which verifies digest and size (a tampered blob is never stored).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LocalContentStore, parseIndex, parseManifest, sha256Digest, type Descriptor, type Store } from "@tsbuild/oci";
import { CacheFormatError, isCacheManifest, parseCacheJson, CACHE_ARTIFACT_TYPE } from "./format.js";
import { recordMap, type CacheSource } from "./source.js";

export class CacheNotFoundError extends Error {
  override readonly name = "CacheNotFoundError";
}

async function readVerified(dir: LocalContentStore, d: Descriptor, what: string): Promise<Buffer> {
  const bytes = await dir.readBytes(d.digest);
  if (sha256Digest(bytes) !== d.digest || bytes.length !== d.size) throw new CacheFormatError(`${what} ${d.digest} does not match its digest (the cache directory is corrupt; export it again)`);
  return bytes;
}

export async function openLocalSource(store: Store, src: string): Promise<CacheSource> {
  const name = `local cache ${src}`;
  let indexBytes: Buffer;
  try {
    indexBytes = await readFile(join(src, "index.json"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new CacheNotFoundError(`${name}: no index.json (nothing exported there yet)`);
    throw e;
  }
  const dir = new LocalContentStore(src);
  const index = parseIndex(indexBytes);
  const entry = index.manifests.find((m) => m.artifactType === CACHE_ARTIFACT_TYPE) ?? index.manifests[0];
  if (!entry) throw new CacheFormatError(`${name}: index.json lists no manifest`);
  const manifest = parseManifest(await readVerified(dir, entry, "manifest"));
  if (!isCacheManifest(manifest)) throw new CacheFormatError(`${name}: the layout holds an image, not a tsbuild cache (write one with --cache-to type=local,dest=${src})`);
  const doc = parseCacheJson(await readVerified(dir, manifest.config, "cache config"), `${name} config`);
  return {
    name,
    records: recordMap(doc.records),
    async fetch(layer) {
      await store.content.ingest(dir.reader(layer.digest), { digest: layer.digest, size: layer.size });
    },
    async close() {},
  };
}
