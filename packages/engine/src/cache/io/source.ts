/**
 * A cache to import from (--cache-from): its records by key, read when the build starts, and a way
 * to bring one record's layer blob into the store, verified, when a step hits it (lazy import: a
 * layer no step needs is never fetched).
 */
import type { Descriptor } from "@tsbuild/oci";
import type { CacheRecord } from "../build-cache.js";

export interface CacheSource {
  /** what to call it in messages, e.g. `local cache /ci/cache` */
  readonly name: string;
  readonly records: ReadonlyMap<string, CacheRecord>;
  /** Puts a layer blob into the store; the content store's writer verifies digest and size. */
  fetch(layer: Descriptor): Promise<void>;
  close(): Promise<void>;
}

export function recordMap(records: CacheRecord[]): Map<string, CacheRecord> {
  return new Map(records.map((r) => [r.key, r]));
}
