export type { Snapshotter, ActiveSnapshot } from "./snapshotter.js";
export { OverlaySnapshotter } from "./overlay.js";
export { CopySnapshotter } from "./copy.js";
export { chooseSnapshotter, overlaySupported } from "./choose.js";
export { activeMounts, unmountAll } from "./mounts.js";
export { overlayDiff } from "./overlay-diff.js";
export { unpackLayer } from "./unpack.js";
