/**
 * The same image with its layers compressed, for outputs that ship it (push, OCI archives): the
 * store keeps layers uncompressed (their digest is their diff id, cheapest for builds), and a
 * compressed copy of a layer is made once per compression and remembered under
 * <root>/cache/compressed/<alg>/<diff id hex>, so pushing again costs nothing. The config (and so
 * the image id) is the same; the manifest names the compressed blobs.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DigestingStream, isDigest, type Digest } from "./digest.js";
import { writeFileAtomic } from "./fs-atomic.js";
import { compressStream } from "./layer/compression.js";
import { isIndexMediaType, ociLayerMediaType, MediaTypes, type LayerCompression } from "./media-types.js";
import type { Store } from "./store.js";
import type { Descriptor, ImageManifest } from "./types/image.js";
import { parseIndex, parseManifest } from "./validate.js";


const UNCOMPRESSED = new Set<string>([MediaTypes.OCI_LAYER_TAR, MediaTypes.DOCKER_LAYER_TAR]);

async function compressedLayer(store: Store, layer: Descriptor, alg: Exclude<LayerCompression, "none">, mediaType: string): Promise<Descriptor> {
  const memo = join(store.root, "cache", "compressed", alg, layer.digest.replace(/^sha256:/, ""));
  const known = (await readFile(memo, "utf8").catch(() => "")).trim();
  const info = isDigest(known) ? await store.content.info(known as Digest).catch(() => undefined) : undefined;
  if (info) return { mediaType, digest: info.digest, size: info.size };
  const hashed = compressStream(store.content.reader(layer.digest), alg, { parallel: true }).pipe(new DigestingStream());
  const blob = await store.content.ingest(hashed);
  await mkdir(join(store.root, "cache", "compressed", alg), { recursive: true });
  await writeFileAtomic(memo, blob.digest);
  return { mediaType, digest: blob.digest, size: blob.size };
}

/**
 * The manifest of `manifest`'s image with its uncompressed layers compressed by `alg` (itself when
 * there is nothing to do). A Docker schema 2 manifest can carry gzip only: with zstd it stays as is.
 * An index (a multi-platform image) is a new index of its manifests so compressed, each entry's
 * platform and annotations kept.
 */
export async function compressImage(store: Store, manifest: Descriptor, alg: LayerCompression): Promise<Descriptor> {
  if (isIndexMediaType(manifest.mediaType)) return compressIndex(store, manifest, alg);
  const docker = manifest.mediaType === MediaTypes.DOCKER_MANIFEST;
  if (alg === "none" || (manifest.mediaType !== MediaTypes.OCI_MANIFEST && !docker) || (docker && alg !== "gzip")) return manifest;
  const m: ImageManifest = parseManifest(await store.content.readBytes(manifest.digest));
  if (!m.layers.some((l) => UNCOMPRESSED.has(l.mediaType))) return manifest;
  const mediaType = docker ? MediaTypes.DOCKER_LAYER_GZIP : ociLayerMediaType(alg);
  const layers: Descriptor[] = [];
  for (const l of m.layers) layers.push(UNCOMPRESSED.has(l.mediaType) ? await compressedLayer(store, l, alg, mediaType) : l);
  const bytes = JSON.stringify({ ...m, layers });
  const blob = await store.content.putBytes(bytes);
  return { mediaType: manifest.mediaType, digest: blob.digest, size: blob.size };
}

async function compressIndex(store: Store, index: Descriptor, alg: LayerCompression): Promise<Descriptor> {
  if (alg === "none") return index;
  const bytes = await store.content.readBytes(index.digest);
  const idx = parseIndex(bytes);
  const raw = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  let changed = false;
  const manifests: Descriptor[] = [];
  for (const m of idx.manifests) {
    const c = await compressImage(store, { mediaType: m.mediaType, digest: m.digest, size: m.size }, alg);
    if (c.digest !== m.digest) changed = true;
    manifests.push({ ...m, digest: c.digest, size: c.size });
  }
  if (!changed) return index;
  const blob = await store.content.putBytes(JSON.stringify({ ...raw, manifests }));
  return { ...index, digest: blob.digest, size: blob.size };
}
