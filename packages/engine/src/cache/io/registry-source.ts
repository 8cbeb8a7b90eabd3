/**
 * --cache-from type=registry,ref=REF: either a cache artifact pushed by --cache-to type=registry, or
 * an image built with --cache-to type=inline (its config holds the records). The manifest and the
 * config are fetched at the start of the build; a layer only when a step hits its record, through
 * the registry puller, which verifies digest and size before anything is stored.
 */
import { formatPlatform, isIndexMediaType, onlyPlatform, parseIndex, parseManifest, parseReference, type Platform, type Store } from "@tsbuild/oci";
import type { ClientOptions } from "@tsbuild/registry";
import { CacheFormatError, isCacheManifest, parseCacheJson } from "./format.js";
import { hasInlineCache, inlineRecords } from "./inline.js";
import { recordMap, type CacheSource } from "./source.js";
import type { CacheRecord } from "../build-cache.js";

export async function openRegistrySource(store: Store, ref: string, opts: ClientOptions, platform: Platform): Promise<CacheSource> {
  const r = parseReference(ref);
  // loaded when used: a build that talks to no registry never pays for the HTTP client
  const { Puller, RegistryClient } = await import("@tsbuild/registry");
  const client = new RegistryClient(r.domain, opts);
  const puller = new Puller(store, client, r.path);
  const name = `registry cache ${ref}`;
  try {
    let top = await puller.manifestBytes(r.digest ?? r.tag ?? "latest");
    if (isIndexMediaType(top.mediaType)) {
      const idx = parseIndex(top.bytes);
      const pick = onlyPlatform(platform).best(idx.manifests);
      if (!pick) throw new CacheFormatError(`${name}: no image for ${formatPlatform(platform)} in its index`);
      top = await puller.manifestBytes(pick.digest);
    }
    const manifest = parseManifest(top.bytes);
    await puller.blob(manifest.config);
    const configBytes = await store.content.readBytes(manifest.config.digest);
    let records: CacheRecord[];
    if (isCacheManifest(manifest)) {
      records = parseCacheJson(configBytes, `${name} config`).records;
    } else {
      const config = JSON.parse(configBytes.toString("utf8")) as Record<string, unknown>;
      if (!hasInlineCache(config)) throw new CacheFormatError(`${name}: the image has no inline cache (build it with --cache-to type=inline, or push a cache with --cache-to type=registry,ref=…)`);
      records = inlineRecords(config, manifest, ref);
    }
    return {
      name,
      records: recordMap(records),
      async fetch(layer) {
        await puller.blob(layer);
      },
      close: () => client.close(),
    };
  } catch (e) {
    await client.close();
    throw e;
  }
}
