/** The snapshot names (layer chain ids) every named image unpacks to: prune keeps those. */
import { isIndexMediaType, parseConfig, parseIndex, parseManifest, type Descriptor, type Store } from "@tsbuild/oci";
import { chainName } from "../step/snapshot-chain.js";

export async function imageSnapshotNames(store: Store): Promise<Set<string>> {
  const out = new Set<string>();
  const seen = new Set<string>();
  const visit = async (d: Descriptor): Promise<void> => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    let bytes: Buffer;
    try {
      bytes = await store.content.readBytes(d.digest);
    } catch {
      return; // a missing blob is store check's business
    }
    try {
      if (isIndexMediaType(d.mediaType)) {
        for (const m of parseIndex(bytes).manifests) await visit(m);
        return;
      }
      const manifest = parseManifest(bytes);
      const config = parseConfig(await store.content.readBytes(manifest.config.digest));
      let name: string | undefined;
      for (const diffId of config.rootfs.diff_ids) out.add((name = chainName(name, diffId)));
    } catch {
      // not an image manifest (or unreadable): it needs no snapshot
    }
  };
  for (const r of await store.images.list()) await visit(r.target);
  return out;
}
