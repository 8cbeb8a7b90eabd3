/**
 * An optional capability of a snapshotter (Snapshotter.delta): a committed snapshot made by hand
 * as a small set of changes on top of another one, without mounting anything. The overlay
 * snapshotter has it (each of its committed snapshots is one layer of changes); the copy
 * snapshotter does not (each of its snapshots is a full tree), and a caller then does the step in
 * full. Incremental COPY (packages/engine) uses it.
 *
 * A delta's life goes one way: prepareDelta → files and whiteout()s written into its directory
 * → (the caller makes the layer from them) → commitDelta, or Snapshotter.remove(key) to drop it.
 */
export interface DeltaSnapshots {
  /**
   * The directories of a committed snapshot's chain, nearest first, each holding one layer's
   * changes in overlay format (whiteouts as 0:0 character devices): for looking paths up without
   * mounting. Read only: nothing may write there.
   */
  layerDirs(name: string): Promise<string[]>;
  /**
   * An empty, unmounted directory for the changes of a new snapshot, known by `key` as an active
   * snapshot is: the caller writes new and changed entries into it, and marks removed paths with
   * whiteout().
   */
  prepareDelta(key: string): Promise<string>;
  /** Marks `path` (inside a delta's directory) deleted in the snapshot to be: overlay's whiteout. */
  whiteout(path: string): Promise<void>;
  /**
   * Commits the delta of `key` as the snapshot `name` on top of the committed `parent`: its tree
   * is the parent's with these changes. The key is gone after.
   */
  commitDelta(name: string, parent: string, key: string): Promise<void>;
}
