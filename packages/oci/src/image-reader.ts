/** Reading an image from the store: manifest (through an index, by platform) and config. */
import type { ContentStore } from "./content-store.js";
import { InvalidContentError } from "./errors.js";
import { isIndexMediaType } from "./media-types.js";
import { formatPlatform, onlyPlatform } from "./platform.js";
import type { Descriptor, ImageConfig, ImageManifest, Platform } from "./types/image.js";
import { looksLikeIndex, parseConfig, parseIndex, parseManifest } from "./validate.js";

export interface ResolvedImage {
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
}

export async function resolveImage(store: ContentStore, target: Descriptor, platform?: Platform): Promise<ResolvedImage> {
  let desc = target;
  for (let depth = 0; depth < 4; depth++) {
    const bytes = await store.readBytes(desc.digest);
    if (isIndexMediaType(desc.mediaType) || looksLikeIndex(bytes)) {
      const idx = parseIndex(bytes);
      // the best for the platform, as containerd's platforms.Only picks (platform.ts); without one, the first
      const pick = platform ? onlyPlatform(platform).best(idx.manifests) : idx.manifests[0];
      if (!pick) {
        const have = idx.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : "?")).join(", ");
        throw new InvalidContentError(`no manifest for ${platform ? formatPlatform(platform) : "any platform"} in index ${desc.digest} (has ${have})`);
      }
      desc = pick;
      continue;
    }
    const manifest = parseManifest(bytes);
    const config = parseConfig(await store.readBytes(manifest.config.digest));
    return { manifestDescriptor: desc, manifest, config };
  }
  throw new InvalidContentError(`index nesting too deep at ${target.digest}`);
}
