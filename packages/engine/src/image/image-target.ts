/**
 * What an output names: the built image's manifest with the output's annotations (a new manifest
 * blob when it has manifest annotations), or, for a multi-platform result (BUILDKIT_MULTI_PLATFORM),
 * an OCI image index holding that manifest with its platform, as BuildKit's image writer makes
 * them. The config, and so the image id, is the same for every output.
 */
import { MediaTypes, parseManifest, type Descriptor, type ImageIndex, type Platform, type Store } from "@tsbuild/oci";
import type { PlatformSpec } from "@tsbuild/dockerfile";
import { normalizePlatform, type AnnotationSet } from "./annotations.js";

export interface BuiltImage {
  /** the manifest as built (uncompressed layers, no annotations) */
  manifest: Descriptor;
  /** the platform the build is for: the descriptor's platform */
  platform: PlatformSpec;
  /** BUILDKIT_MULTI_PLATFORM: outputs get an index of the one manifest */
  multiPlatform: boolean;
}

const some = (m: Record<string, string>): Record<string, string> | undefined => (Object.keys(m).length ? { ...m } : undefined);

/** The OCI platform object, in Go's field order (architecture, os, variant). */
export function ociPlatform(p: PlatformSpec): Platform {
  const n = normalizePlatform(p);
  return { architecture: n.architecture, os: n.os, ...(n.variant ? { variant: n.variant } : {}) };
}

/** `manifest` with annotations (itself when there are none). */
async function annotatedManifest(store: Store, manifest: Descriptor, annotations: Record<string, string> | undefined): Promise<Descriptor> {
  if (!annotations) return manifest;
  const m = parseManifest(await store.content.readBytes(manifest.digest));
  const blob = await store.content.putBytes(JSON.stringify({ ...m, annotations: { ...m.annotations, ...annotations } }));
  return { mediaType: manifest.mediaType, digest: blob.digest, size: blob.size };
}

/**
 * The descriptor an output names for `manifest` (the built one, or its compressed copy):
 * - one manifest: its descriptor, with the manifest-descriptor annotations (and `platform` when
 *   `withPlatform`: an OCI layout's index.json says it, as BuildKit's);
 * - multi-platform: an index of it (platform, manifest-descriptor annotations; index annotations),
 *   its descriptor with the index-descriptor annotations.
 */
export async function imageTarget(store: Store, img: BuiltImage, manifest: Descriptor, ann: AnnotationSet, withPlatform: boolean): Promise<Descriptor> {
  const m = await annotatedManifest(store, manifest, some(ann.manifest));
  const md = some(ann.manifestDescriptor);
  if (!img.multiPlatform) {
    return { ...m, ...(md ? { annotations: md } : {}), ...(withPlatform ? { platform: ociPlatform(img.platform) } : {}) };
  }
  const ia = some(ann.index);
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaTypes.OCI_INDEX,
    manifests: [{ ...m, ...(md ? { annotations: md } : {}), platform: ociPlatform(img.platform) }],
    ...(ia ? { annotations: ia } : {}),
  };
  const blob = await store.content.putBytes(JSON.stringify(index));
  const id = some(ann.indexDescriptor);
  return { mediaType: MediaTypes.OCI_INDEX, digest: blob.digest, size: blob.size, ...(id ? { annotations: id } : {}) };
}
