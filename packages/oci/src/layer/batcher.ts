/** Collects small buffers (tar headers, small files) into pieces of about `size` bytes, so that the
 * streams after it (hashing, writing) work per piece, not per tar entry. */
export class Batcher {
  private parts: Buffer[] = [];
  private length = 0;

  constructor(private readonly size = 1 << 20) {}

  /** Adds a buffer; returns a full piece when there is one. */
  add(b: Buffer): Buffer | undefined {
    this.parts.push(b);
    this.length += b.length;
    return this.length >= this.size ? this.take() : undefined;
  }

  /** Whatever is left (undefined when nothing is). */
  take(): Buffer | undefined {
    if (this.length === 0) return undefined;
    const out = Buffer.concat(this.parts, this.length);
    this.parts = [];
    this.length = 0;
    return out;
  }
}
