/**
 * Stores an uncompressed layer tar (a root file system made into a layer: `tsbuild import`) as a
 * blob, reading it as a tar while it streams in: a stream that is not a whole tar is refused before
 * the blob is committed, so the store never holds it as a layer. The blob's digest is the layer's
 * diff id. Streamed: never held in memory.
 */
import type { ContentStore, BlobInfo } from "../content-store.js";
import { InvalidContentError } from "../errors.js";
import { readTar } from "./tar-reader.js";

export async function ingestLayerTar(store: ContentStore, plain: AsyncIterable<Buffer | Uint8Array>, what: string): Promise<BlobInfo> {
  const w = await store.writer("layer");
  async function* stored(): AsyncGenerator<Buffer> {
    for await (const c of plain) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
      await w.write(b);
      yield b;
    }
  }
  const bytes = stored();
  try {
    try {
      for await (const e of readTar(bytes)) for await (const _ of e.body()) void _;
    } catch (e) {
      throw new InvalidContentError(`${what} is not a whole tar archive (${(e as Error).message}): nothing was imported`);
    }
    // readTar stops at the end-of-archive marker: what follows is still part of the layer
    for await (const _ of bytes) void _;
    return await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
}
