/**
 * The local build cache: one record per step key under <store>/cache/records/<hex>.json (written
 * atomically), holding what the step produced (its layer, or nothing) and when. A hit reuses the
 * layer (unpacking it into a snapshot if the snapshot is gone) and runs nothing. Records protect
 * their layer blob with a lease, so garbage collection keeps it.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic, type Descriptor, type Digest, type Store } from "@tsbuild/oci";

export interface CacheRecord {
  key: string;
  /** the step as written, for --explain and debugging */
  instruction: string;
  position: string;
  createdBy: string;
  created: string;
  layer?: { descriptor: Descriptor; diffId: Digest };
}

export class LocalCache {
  constructor(private readonly store: Store) {}

  private path(key: string): string {
    return join(this.store.root, "cache", "records", `${key.replace(/^sha256:/, "")}.json`);
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    try {
      const r = JSON.parse(await readFile(this.path(key), "utf8")) as CacheRecord;
      if (r.key !== key) return undefined;
      if (r.layer && !(await this.store.content.has(r.layer.descriptor.digest))) return undefined;
      return r;
    } catch {
      return undefined;
    }
  }

  async put(r: CacheRecord): Promise<void> {
    if (r.layer) await this.store.putLease({ id: `cache-${r.key.replace(/^sha256:/, "")}`, digests: [r.layer.descriptor.digest] });
    await writeFileAtomic(this.path(r.key), JSON.stringify(r));
  }
}
