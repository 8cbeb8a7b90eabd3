import { ImageNotFoundError, resolveImage, type ImageRecord, type ResolvedImage, type Store } from "@tsbuild/oci";

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
