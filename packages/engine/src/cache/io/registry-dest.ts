/**
 * --cache-to type=registry,ref=REF: the cache manifest and config go into the store (as any other
 * blobs: verified, atomic) and are pushed with the registry client, layers first (HEAD, mount or
 * upload; layers the registry has are not sent again), then the manifest under REF's tag.
 */
import type { Store } from "@tsbuild/oci";
import type { ClientOptions } from "@tsbuild/registry";
import type { EncodedCache } from "./format.js";

export async function pushRegistryCache(store: Store, cache: EncodedCache, ref: string, opts: ClientOptions): Promise<void> {
  for (const { descriptor, bytes } of [cache.config, cache.manifest]) await store.content.putBytes(bytes, { digest: descriptor.digest, size: descriptor.size });
  const { push } = await import("@tsbuild/registry"); // loaded when used
  await push(store, cache.manifest.descriptor, ref, opts);
}
