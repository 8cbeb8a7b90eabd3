import type { Readable } from "node:stream";
import { applyLayer, type Digest } from "@tsbuild/oci";
import type { Snapshotter } from "./snapshotter.js";

/**
 * Unpacks an image layer into a committed snapshot `name` on top of `parent`: the layer is applied
 * to a prepared snapshot (on overlay, the kernel turns its deletions into whiteouts) and committed.
 * A failed or hostile layer leaves no snapshot behind.
 */
export async function unpackLayer(s: Snapshotter, name: string, parent: string | undefined, layer: Readable): Promise<{ diffId: Digest }> {
  const key = `unpack-${name}-${process.pid}-${Date.now()}`;
  const a = await s.prepare(key, parent);
  try {
    const r = await applyLayer(layer, a.root);
    await s.commit(name, key);
    return { diffId: r.diffId };
  } catch (e) {
    await s.remove(key);
    throw e;
  }
}
