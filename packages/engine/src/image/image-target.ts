/**
 * What an output names: the built image's manifest with the output's annotations (a new manifest
 * blob when it has manifest annotations), or, for a multi-platform result (BUILDKIT_MULTI_PLATFORM),
 * an OCI image index holding that manifest with its platform, as BuildKit's image writer makes
 * them. The config, and so the image id, is the same for every output.
 */
import { MediaTypes, parseManifest, type Descriptor, type ImageIndex, type Platform, type Store } from "@tsbuild/oci";
import type { PlatformSpec } from "@tsbuild/dockerfile";
import { normalizePlatform, type AnnotationSet } from "./annotations.js";

/** One platform's image as built. */
export interface PlatformImage {
  /** the manifest as built (uncompressed layers, no annotations) */
  manifest: Descriptor;
  /** the platform it is for: its descriptor's platform in an index */
  platform: PlatformSpec;
}

export interface BuiltImage {
  /** one per platform built, in the order asked for */
  images: readonly PlatformImage[];
  /** an index of them (several platforms, or BUILDKIT_MULTI_PLATFORM for one) */
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
 * The descriptor an output names for the built images (`manifests`: the built ones, or their
 * compressed copies, in `img.images`' order; `ann`: each platform's annotations):
 * - one manifest: its descriptor, with the manifest-descriptor annotations (and `platform` when
 *   `withPlatform`: an OCI layout's index.json says it, as BuildKit's);
 * - multi-platform: an index of them (each with its platform and manifest-descriptor annotations;
 *   index annotations), its descriptor with the index-descriptor annotations.
 */
export async function imageTarget(store: Store, img: BuiltImage, manifests: readonly Descriptor[], ann: readonly AnnotationSet[], withPlatform: boolean): Promise<Descriptor> {
  const entries: Descriptor[] = [];
  for (const [n, built] of img.images.entries()) {
    const a = ann[n] as AnnotationSet;
    const m = await annotatedManifest(store, manifests[n] as Descriptor, some(a.manifest));
    const md = some(a.manifestDescriptor);
    entries.push({ ...m, ...(md ? { annotations: md } : {}), ...(withPlatform || img.multiPlatform ? { platform: ociPlatform(built.platform) } : {}) });
  }
  if (!img.multiPlatform) return entries[0] as Descriptor;
  // index annotations are the same for every platform (resolved once per platform, the first kept)
  const first = ann[0] as AnnotationSet;
  const ia = some(first.index);
  // an index of Docker schema 2 manifests is a Docker manifest list, as BuildKit's image writer
  // names it without OCI media types; tsbuild's own manifests are OCI, so its indexes are OCI's
  const mediaType = entries.every((e) => e.mediaType === MediaTypes.DOCKER_MANIFEST) && !ia ? MediaTypes.DOCKER_MANIFEST_LIST : MediaTypes.OCI_INDEX;
  const index: ImageIndex = { schemaVersion: 2, mediaType, manifests: entries, ...(ia ? { annotations: ia } : {}) };
  const blob = await store.content.putBytes(JSON.stringify(index));
  const id = some(first.indexDescriptor);
  return { mediaType, digest: blob.digest, size: blob.size, ...(id ? { annotations: id } : {}) };
}
