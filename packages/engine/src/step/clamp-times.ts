/**
 * SOURCE_DATE_EPOCH clamps the mtimes a layer's tar holds (layer-writer.ts). A snapshot that is to
 * be its layer exactly — a --link layer's own snapshot, shared by every stage it is merged on
 * (link-step.ts) and named by its diff id as an unpacked one is — gets the same times in its tree:
 * each entry of the diff later than the epoch is set to it as it goes by, so the tree and the
 * layer made from the same entries agree.
 */
import { SafeRoot, setTimesAt, type LayerEntry } from "@tsbuild/oci";

/** The entries as they come; each one newer than `epoch` (seconds) is set to it in `root` too. */
export async function* clampTimes(entries: AsyncIterable<LayerEntry>, root: string, epoch: number): AsyncIterable<LayerEntry> {
  const safe = SafeRoot.open(root);
  try {
    for await (const e of entries) {
      if (e.type !== "whiteout" && e.type !== "opaque" && e.mtime.getTime() > epoch * 1000) {
        safe.settle(); // no directory of an earlier entry is used again
        // a file's time changes nothing of its directory's, so the order does not matter
        const { dir, name } = safe.parent(e.path);
        setTimesAt(dir, name, epoch, epoch);
      }
      yield e;
    }
  } finally {
    safe.close();
  }
}
