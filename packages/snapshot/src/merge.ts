/**
 * An optional capability of a snapshotter (Snapshotter.merge): a snapshot whose tree is a chain
 * with one more layer on top, made without copying or applying the layer: the new snapshot shares
 * the directory of the layer's own snapshot (one made on an empty tree). The overlay snapshotter
 * has it: a directory holding a whole layer in overlay format, stacked as one more lowerdir on a
 * chain, is exactly that layer applied there (a directory merges with one below, anything else
 * replaces what is below, whiteouts and opaque directories delete). The copy snapshotter does not
 * (each of its snapshots is a full tree), and a caller then applies the layer to the chain.
 * COPY/ADD --link (packages/engine, link-step.ts) uses it, as BuildKit merges a --link layer.
 *
 * A shared directory is never removed while a snapshot names it (prune keeps a snapshot's `lower`
 * as it keeps its parents: CommittedSnapshot.lower).
 */
export interface MergeSnapshots {
  /**
   * Commits the active snapshot `key`, prepared on no parent, as the committed `name` (its chain id:
   * its layer's diff id). It is marked as a whole layer — commitMerged() may put its directory on
   * any chain — when that directory is all of the layer: the snapshotter checks what it can see (a
   * name or an attribute its diff cannot carry as they are); a caller that applied a layer to it
   * commits it so only when that layer deletes nothing (unpack.ts: a deletion on an empty tree
   * leaves no trace). Unmarked, it is a snapshot as commit() makes one. First wins, as every
   * commit: a `name` there already is kept as it is, marked or not. The key is gone after.
   */
  commitLayer(name: string, key: string): Promise<void>;
  /**
   * Commits `name`: the tree of the committed `parent` with the layer of `layer` (a snapshot
   * commitLayer() made) on top, sharing its directory. First wins. False, and nothing committed,
   * when `layer` cannot be shared there: not marked as a whole layer, or its directory is in
   * `parent`'s chain already (overlayfs refuses a directory twice in one mount); the caller then
   * applies the layer to `parent` instead.
   */
  commitMerged(name: string, parent: string, layer: string): Promise<boolean>;
}
