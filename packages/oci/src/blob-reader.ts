/**
 * Random access to the bytes of one blob (ContentStore.open): what reads pieces of a large blob at
 * chosen offsets (a layer patched from an earlier one, layer-patch.ts) uses instead of the blob's
 * file, without streaming all of it or holding it in memory.
 */
import { open, type FileHandle } from "node:fs/promises";

export interface BlobReader {
  /** the blob's size in bytes (when it was opened; a blob never changes) */
  readonly size: number;
  /**
   * Up to `length` bytes from `position`, in a new buffer (what was handed out stays valid): fewer
   * only where the blob ends, none from its end on.
   */
  read(position: number, length: number): Promise<Buffer>;
  /** releases the reader; read() must not be called after */
  close(): Promise<void>;
}

class FileBlobReader implements BlobReader {
  constructor(private readonly fh: FileHandle, readonly size: number) {}

  async read(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let n = 0;
    while (n < length) {
      const { bytesRead } = await this.fh.read(buf, n, length - n, position + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return buf.subarray(0, n);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** A reader of the file at `path` (the content store's blobs; tests' files); its errors are fs errors (ENOENT…). */
export async function openFileReader(path: string): Promise<BlobReader> {
  const fh = await open(path, "r");
  try {
    return new FileBlobReader(fh, (await fh.stat()).size);
  } catch (e) {
    await fh.close();
    throw e;
  }
}
