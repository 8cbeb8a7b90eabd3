import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { InvalidContentError } from "./errors.js";

/** A content digest; this store uses sha256 only. */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

export function asDigest(s: string): Digest {
  if (!isDigest(s)) throw new InvalidContentError(`not a sha256 digest: ${JSON.stringify(s)}`);
  return s;
}

export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function digestHex(d: Digest): string {
  return d.slice("sha256:".length);
}

/** A pass-through stream that hashes and counts what flows through it. */
export class DigestingStream extends Transform {
  private readonly hash: Hash = createHash("sha256");
  private bytes = 0;
  private final_: Digest | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    this.final_ = `sha256:${this.hash.digest("hex")}`;
    cb();
  }
  /** Available once the stream has ended. */
  get digest(): Digest {
    if (!this.final_) throw new Error("DigestingStream: digest read before the stream ended");
    return this.final_;
  }
  get size(): number {
    return this.bytes;
  }
}
