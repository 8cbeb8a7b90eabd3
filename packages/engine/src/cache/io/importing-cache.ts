/**
 * The local cache with imported caches behind it (--cache-from): a key the store has no record for
 * is looked up in each source in order; on a hit the record's layer is brought into the store
 * (verified by digest, and its diff id checked), the record is written to the local cache verbatim
 * (so the next build hits locally) and returned. A record whose layer cannot be fetched or verified
 * is a miss with a warning, never a wrong layer.
 */
import type { Descriptor, Digest, Store } from "@tsbuild/oci";
import { LocalCache, type CacheRecord } from "../build-cache.js";
import type { CacheSource } from "./source.js";
import { checkDiffId } from "./verify-layer.js";

export class ImportingCache extends LocalCache {
  constructor(
    private readonly contentStore: Store,
    private readonly sources: CacheSource[],
    private readonly warn: (message: string) => void,
  ) {
    super(contentStore);
  }

  override async get(key: string): Promise<CacheRecord | undefined> {
    const local = await super.get(key);
    if (local) return local;
    for (const source of this.sources) {
      const r = source.records.get(key);
      if (!r) continue;
      try {
        if (r.layer) await this.bring(source, r.layer);
        await this.put(r);
        return r;
      } catch (e) {
        this.warn(`${source.name}: not using the record of "${r.createdBy ?? key}": ${(e as Error).message}`);
      }
    }
    return undefined;
  }

  private async bring(source: CacheSource, layer: { descriptor: Descriptor; diffId: Digest }): Promise<void> {
    if (!(await this.contentStore.content.has(layer.descriptor.digest))) await source.fetch(layer.descriptor);
    await checkDiffId(this.contentStore, layer);
  }
}
