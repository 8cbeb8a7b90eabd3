import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { applyLayer, BlobNotFoundError, type Digest } from "@tsbuild/oci";
import { LayerDiffIdMismatchError, LayerMissingError } from "./errors.js";
import type { Snapshotter } from "./snapshotter.js";

/** A layer to unpack: where its bytes come from and what the image config says it is. */
export interface LayerSource {
  /** the layer blob's digest (for errors) */
  digest: Digest;
  /** the diff id the image config gives the layer: the snapshot is committed only if the layer's matches */
  diffId: Digest;
  /** what the layer belongs to, for errors: "image docker.io/library/alpine:3", "the build cache" */
  of: string;
  /** what to do when the layer is missing or corrupt: "pull or load the image again" */
  remedy: string;
  /** opens the layer's bytes; called once, where they are read (never before the snapshot is ready) */
  open(): Readable;
}

/**
 * Unpacks an image layer into a committed snapshot `name` on top of `parent`: the layer is applied
 * to a prepared snapshot (on overlay, the kernel turns its deletions into whiteouts), its diff id
 * compared with the config's, and only then committed under `name` (a chain name later builds
 * trust). A missing, corrupt, hostile or wrong layer leaves no snapshot behind and throws a typed
 * error. On no parent, a layer that deletes nothing is committed as a whole layer where the
 * snapshotter can merge (MergeSnapshots.commitLayer): later snapshots may share its directory.
 */
export async function unpackLayer(s: Snapshotter, name: string, parent: string | undefined, layer: LayerSource): Promise<{ diffId: Digest }> {
  // unique: two unpacks of one name at the same millisecond (another build of the process) must not share an active snapshot
  const key = `unpack-${name}-${process.pid}-${Date.now()}-${randomBytes(4).toString("hex")}`;
  const a = await s.prepare(key, parent);
  let diffId: Digest;
  let whole = false;
  try {
    try {
      const applied = await applyLayer(layer.open(), a.root);
      diffId = applied.diffId;
      // on an empty tree, a layer that deletes nothing is all there: its snapshot may be shared (merge.ts)
      whole = parent === undefined && applied.deletions === 0;
    } catch (e) {
      if (e instanceof BlobNotFoundError) throw new LayerMissingError(layer.digest, layer.of, layer.remedy);
      throw e;
    }
    if (diffId !== layer.diffId) throw new LayerDiffIdMismatchError(layer.digest, layer.of, layer.diffId, diffId, layer.remedy);
  } catch (e) {
    await s.remove(key);
    throw e;
  }
  try {
    if (whole && s.merge) await s.merge.commitLayer(name, key);
    else await s.commit(name, key);
  } catch (e) {
    await s.remove(key).catch(() => undefined);
    throw e;
  }
  return { diffId };
}
