/**
 * Where blobs are known to live in registries (digest → repositories per registry), so a push can
 * mount a blob from another repository of the same registry instead of uploading it again.
 * Kept in <store>/registry/locations.json; losing it only costs an upload.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic, type Digest } from "@tsbuild/oci";

type Locations = Record<string, Record<string, string[]>>; // domain → digest → repos

export class BlobLocations {
  private readonly file: string;
  constructor(storeRoot: string) {
    this.file = join(storeRoot, "registry", "locations.json");
  }
  private async read(): Promise<Locations> {
    try {
      return JSON.parse(await readFile(this.file, "utf8")) as Locations;
    } catch {
      return {};
    }
  }
  async find(domain: string, digest: Digest, except: string): Promise<string | undefined> {
    return ((await this.read())[domain]?.[digest] ?? []).find((r) => r !== except);
  }
  async add(domain: string, repo: string, digests: Iterable<Digest>): Promise<void> {
    const all = await this.read();
    const d = (all[domain] ??= {});
    for (const dg of digests) {
      const repos = (d[dg] ??= []);
      if (!repos.includes(repo)) repos.push(repo);
      if (repos.length > 8) repos.shift();
    }
    await writeFileAtomic(this.file, JSON.stringify(all));
  }
}
