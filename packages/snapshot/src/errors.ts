/** Errors of unpacking a layer into a snapshot; each says what to do. */

/** The layer's blob is not in the content store (deleted, or a damaged store). */
export class LayerMissingError extends Error {
  override readonly name = "LayerMissingError";
  constructor(readonly digest: string, of: string, remedy: string) {
    super(`layer ${digest} of ${of} is missing from the store; ${remedy}`);
  }
}

/** The layer is not the one its image config names: nothing was committed under the chain name. */
export class LayerDiffIdMismatchError extends Error {
  override readonly name = "LayerDiffIdMismatchError";
  constructor(readonly digest: string, of: string, readonly expected: string, readonly actual: string, remedy: string) {
    super(`layer ${digest} of ${of} has diff id ${actual}, but the image config says ${expected}: the image is corrupt; ${remedy}`);
  }
}

/** The snapshotter asked for cannot be used on this store here. */
export class SnapshotterError extends Error {
  override readonly name = "SnapshotterError";
}
