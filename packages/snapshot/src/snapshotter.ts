import type { LayerEntry } from "@tsbuild/oci";
import type { DeltaSnapshots } from "./delta.js";
import type { MergeSnapshots } from "./merge.js";
import type { DirectoryLookup } from "./lookup.js";
import type { ToolName } from "@tsbuild/oci";

/** A prepared (writable) or viewed (read-only) snapshot, mounted at `root`. */
export interface ActiveSnapshot {
  key: string;
  /** the root file system, ready to use as a container root or for file operations */
  root: string;
  readonly: boolean;
}

/**
 * containerd's snapshotter shape (DESIGN.md): committed snapshots are immutable layers identified by
 * name, with a parent chain; active ones are writable views on top of a parent.
 */
export interface Snapshotter {
  readonly kind: "overlay" | "copy";
  /** the system tools its snapshots and diffs run (checked before a build starts any: requireTools) */
  readonly tools: readonly ToolName[];
  /** a writable snapshot on top of `parent` (a committed name), or empty */
  prepare(key: string, parent?: string): Promise<ActiveSnapshot>;
  /** a read-only view of a committed snapshot */
  view(key: string, parent: string): Promise<ActiveSnapshot>;
  /** the changes of an active snapshot against its parent, as layer entries (sorted) */
  diff(key: string): AsyncIterable<LayerEntry>;
  /** turns an active snapshot into a committed one named `name`; the active key is gone after */
  commit(name: string, key: string): Promise<void>;
  /** removes an active or committed snapshot (unmounting it) */
  remove(key: string): Promise<void>;
  exists(name: string): Promise<boolean>;
  /** the parent chain of a committed snapshot, nearest first */
  parents(name: string): Promise<string[]>;
  /** snapshots made by hand as changes on a committed one (delta.ts), where the snapshotter can; absent, a caller does the step in full */
  readonly delta?: DeltaSnapshots;
  /** snapshots made as a chain with a layer's own snapshot shared on top (merge.ts), where the snapshotter can; absent, a caller applies the layer */
  readonly merge?: MergeSnapshots;
  /** directories looked up in a committed snapshot without mounting it (lookup.ts), where the snapshotter can; absent, a caller prepares a snapshot */
  readonly lookup?: DirectoryLookup;
}
