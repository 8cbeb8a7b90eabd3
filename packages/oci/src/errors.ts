/** Errors of the image store and formats; each says what happened and what to do. */

export class InvalidContentError extends Error {
  override readonly name = "InvalidContentError";
}
export class BlobNotFoundError extends Error {
  override readonly name = "BlobNotFoundError";
  constructor(readonly digest: string) {
    super(`blob ${digest} is not in the store (pull or load the image again)`);
  }
}
export class DigestMismatchError extends Error {
  override readonly name = "DigestMismatchError";
  constructor(readonly expected: string, readonly actual: string) {
    super(`content digest mismatch: expected ${expected}, got ${actual} (the source is corrupt or was changed; nothing was stored)`);
  }
}
export class SizeMismatchError extends Error {
  override readonly name = "SizeMismatchError";
  constructor(readonly expected: number, readonly actual: number) {
    super(`content size mismatch: expected ${expected} bytes, got ${actual} (the source is truncated or corrupt; nothing was stored)`);
  }
}
export class UnsafeLayerError extends Error {
  override readonly name = "UnsafeLayerError";
  constructor(readonly entry: string, reason: string) {
    super(`refusing layer entry "${entry}": ${reason} (the layer is malformed or hostile; nothing was applied)`);
  }
}
export class ImageNotFoundError extends Error {
  override readonly name = "ImageNotFoundError";
  constructor(readonly ref: string) {
    super(`image ${ref} is not in the store (see tsbuild images; pull, load or build it first)`);
  }
}
/** A path inside a root that cannot be written as asked (not a directory, a symlink loop, …). */
export class UnsafePathError extends Error {
  override readonly name = "UnsafePathError";
  constructor(readonly path: string, reason: string, readonly code?: string) {
    super(`/${path.replace(/^\/+/, "")}: ${reason}`);
  }
}
/** An image that does not hold together (a blob missing, a manifest or config unreadable, a layer not the one its config names): it is not named. */
export class CorruptImageError extends InvalidContentError {
  constructor(readonly of: string, problem: string, remedy: string) {
    super(`${of} is corrupt: ${problem}; ${remedy}`);
  }
}
/** An archive could not be written where it was asked for. */
export class ArchiveWriteError extends Error {
  override readonly name = "ArchiveWriteError";
  constructor(readonly dest: string, reason: string) {
    super(`cannot write ${dest}: ${reason} (is its directory there and writable?)`);
  }
}
