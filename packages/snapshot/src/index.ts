export type { Snapshotter, ActiveSnapshot } from "./snapshotter.js";
export { OverlaySnapshotter } from "./overlay.js";
export { CopySnapshotter } from "./copy.js";
export { chooseSnapshotter, overlaySupported } from "./choose.js";
export { activeMounts, mountPointsUnder, unmountAll, unmountLazy, unmountUnder } from "./mounts.js";
export { overlayDiff } from "./overlay-diff.js";
export { unpackLayer, type LayerSource } from "./unpack.js";
export { LayerDiffIdMismatchError, LayerMissingError } from "./errors.js";
export { deadSnapshotDebris, listCommitted, listSnapshotDebris, removeCommitted, removeDebris, type CommittedSnapshot, type SnapshotDebris } from "./committed.js";
