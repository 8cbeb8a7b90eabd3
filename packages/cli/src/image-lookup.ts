import { formatPlatform } from "@tsbuild/dockerfile";
import { ImageNotFoundError, isIndexMediaType, parseIndex, resolveImage, type Descriptor, type ImageIndex, type ImageRecord, type ResolvedImage, type Store } from "@tsbuild/oci";

/** Finds an image by name, or by (a prefix of) its image id or manifest digest. */
export async function findImage(store: Store, ref: string): Promise<{ record: ImageRecord; image: ResolvedImage }> {
  let record: ImageRecord | undefined;
  try {
    record = await store.images.get(ref);
  } catch {
    record = undefined;
  }
  if (!record) {
    const hex = ref.replace(/^sha256:/, "");
    if (/^[a-f0-9]{4,64}$/.test(hex)) {
      for (const r of await store.images.list()) {
        const img = await resolveImage(store.content, r.target);
        if (img.manifest.config.digest.slice(7).startsWith(hex) || r.target.digest.slice(7).startsWith(hex)) return { record: r, image: img };
      }
    }
    throw new ImageNotFoundError(ref);
  }
  return { record, image: await resolveImage(store.content, record.target) };
}

/** An image index in the store: each platform's image (those whose blobs the store has: a pull keeps one platform's). */
export interface StoredIndex {
  index: ImageIndex;
  platforms: { platform: string; image?: ResolvedImage; descriptor: Descriptor }[];
}

/** The index `target` is, with its platforms, or undefined for a single manifest. */
export async function indexOf(store: Store, target: Descriptor): Promise<StoredIndex | undefined> {
  if (!isIndexMediaType(target.mediaType)) return undefined;
  const index = parseIndex(await store.content.readBytes(target.digest));
  const platforms = [];
  for (const d of index.manifests) {
    const platform = d.platform ? formatPlatform(d.platform) : "unknown";
    const image = (await store.content.has(d.digest)) ? await resolveImage(store.content, d).catch(() => undefined) : undefined;
    platforms.push({ platform, descriptor: d, ...(image ? { image } : {}) });
  }
  return { index, platforms };
}
