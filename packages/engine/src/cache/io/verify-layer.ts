/**
 * An imported record names a layer blob and its diff id (the digest of the uncompressed tar, which
 * goes into the image config). The blob itself is verified by digest on the way into the store;
 * this checks that the diff id the record claims is the blob's, so a record can never put a layer
 * into an image whose config describes another.
 */
import { createHash } from "node:crypto";
import { decompressStream, layerCompression, type Descriptor, type Digest, type Store } from "@tsbuild/oci";
import { CacheFormatError } from "./format.js";

export async function checkDiffId(store: Store, layer: { descriptor: Descriptor; diffId: Digest }): Promise<void> {
  const d = layer.descriptor;
  let actual: Digest = d.digest;
  if (layerCompression(d.mediaType) !== "none") {
    const h = createHash("sha256");
    for await (const chunk of await decompressStream(store.content.reader(d.digest))) h.update(chunk as Buffer);
    actual = `sha256:${h.digest("hex")}`;
  }
  if (actual !== layer.diffId) throw new CacheFormatError(`layer ${d.digest} has diff id ${actual}, but the cache record says ${layer.diffId}`);
}
