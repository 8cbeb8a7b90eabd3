/**
 * A COPY of a context directory that missed the cache only because a few of its files changed is
 * redone from its previous run instead of from scratch, at a cost proportional to the change:
 *
 * - the layer: the previous run's layer streams through with the changed paths replaced
 *   (patchLayerEntries): the same entries a full copy writes, without reading 20,000 files again;
 * - the snapshot (for the steps after it): a small delta on top of the previous run's snapshot
 *   (the changed files, whiteouts for removed ones), instead of a second full tree.
 *
 * It is used only where the result is certainly the same as a full copy's: one source, a
 * directory of the context; no heredocs, no --parents or --exclude; owners by number; a snapshotter that makes deltas
 * (Snapshotter.delta: the overlay one, not the copy one); a previous run
 * on the same parent by the same instruction with the same options, whose snapshot is a full one;
 * few changes, none of them hard-linked; no changed path present in the layers below; and a
 * previous layer without whiteouts or hard links. Anything else, and any failure on the way,
 * copies in full.
 *
 * A step's data goes one way: the delta is prepared (DeltaSnapshots.prepareDelta), the changes are
 * written into it (the Copier, through SafeRoot), its entries are listed, the layer is stored
 * (storePatchedLayer reads the previous layer's blob through the content store), and the delta is
 * committed as the step's snapshot.
 */
import { chmodSync, lchownSync, lstatSync, mkdirSync } from "node:fs";
import { join, posix } from "node:path";
import { statEntry, storePatchedLayer, walkDirectory, type LayerEntry, type StoredLayer } from "@tsbuild/oci";
import type { DeltaSnapshots, Snapshotter } from "@tsbuild/snapshot";
import type { SolverEnv, StageState } from "../solver/state.js";
import type { CacheRecord } from "../cache/build-cache.js";
import { Copier, type CopyRequest } from "./copier.js";
import { keepTimes } from "./copy-file.js";
import { chainName } from "../step/snapshot-chain.js";
import { quotePath } from "../context/listing.js";
import { diffListings } from "../context/listing-diff.js";
import { keyOf, type StepInputs } from "../step/step-cache.js";
import { holdHit, holdSnapshots } from "../step/store-guard.js";

export interface IncrementalCopy {
  /** the source directory, relative to the context root ("" for the root) */
  srcDir: string;
  /** the destination directory, relative to the image root */
  destDir: string;
  /** the copy request, but for its target root */
  request: Omit<CopyRequest, "targetRoot">;
}

export interface IncrementalResult {
  layer: StoredLayer;
  /** the layer blob in the store (see storePatchedLayer): its cache record is written after it, and the build waits for both before it writes the image */
  committed: Promise<void>;
  /** the committed snapshot of the step's result */
  snapshot: string;
  detail: string;
}

/** At most this share of the entries may differ (beyond it a full copy costs about the same). */
const MAX_SHARE = 0.1;

function within(dir: string, p: string): boolean {
  return dir === "" || p === dir || p.startsWith(`${dir}/`);
}

/** The previous run of this step whose snapshot is a full tree on the current parent. */
async function previousRun(env: SolverEnv, st: StageState, snap: Snapshotter, createdBy: string, inputs: StepInputs): Promise<{ record: CacheRecord; snapshot: string } | undefined> {
  const snapshotOf = (r: CacheRecord) => chainName(st.snapshot, (r.layer as NonNullable<CacheRecord["layer"]>).diffId);
  let candidates = (await env.cache.children(st.key))
    // the same step in every input but the files: its key made with its own source is its key (platform, epoch… included)
    .filter((r) => r.layer && r.inputs?.source?.startsWith("context:") && r.key === keyOf(env, st, st.key, createdBy, { ...inputs, source: r.inputs.source }))
    .sort((a, b) => (a.created < b.created ? 1 : -1));
  // the newest run is mostly a delta on the full tree to use: that one first
  const [newest] = candidates;
  if (newest) {
    const [p] = await snap.parents(snapshotOf(newest)).catch(() => [] as string[]);
    const full = candidates.find((r) => p !== st.snapshot && snapshotOf(r) === p);
    if (full) candidates = [full, ...candidates.filter((r) => r !== full)];
  }
  // its listing is read meanwhile (incrementalCopy compares it with the new one)
  if (candidates[0]) void env.listings.lines((candidates[0].inputs?.source as string).slice("context:".length));
  for (const record of candidates) {
    const snapshot = snapshotOf(record);
    // a look before holding anything (holding writes the session file): most runs made a delta, not a full tree
    if ((await snap.parents(snapshot).catch(() => []))[0] !== st.snapshot) continue;
    // its layer and snapshot kept from a concurrent prune (store-guard.ts)
    if (!(await holdHit(env, record, { parent: st.snapshot })) || !(await snap.exists(snapshot))) continue;
    const [parent] = await snap.parents(snapshot);
    if (parent === st.snapshot) return { record, snapshot };
  }
  return undefined;
}

/** The incremental copy, or undefined to copy in full (nothing is left behind then). */
export async function incrementalCopy(env: SolverEnv, st: StageState, createdBy: string, inputs: StepInputs, plan: IncrementalCopy): Promise<IncrementalResult | undefined> {
  const snap = env.snapshotter;
  const deltas: DeltaSnapshots | undefined = snap.delta;
  if (!deltas || !inputs.source?.startsWith("context:")) return undefined;
  const prev = await previousRun(env, st, snap, createdBy, inputs);
  if (!prev) return undefined;
  const [beforeLines, afterLines] = await Promise.all([
    env.listings.lines((prev.record.inputs?.source as string).slice("context:".length)),
    env.listings.lines(inputs.source.slice("context:".length)),
  ]);
  if (!beforeLines || !afterLines) return undefined;
  const diff = diffListings(beforeLines, afterLines, Math.max(20, afterLines.length * MAX_SHARE));
  // the source was a directory then too (a file or a link then left entries a full copy would not have)
  const rootLine = `dir ${quotePath(plan.srcDir)} `;
  if (!diff || !diff.rootBefore.startsWith(rootLine) || !diff.rootAfter.startsWith(rootLine)) return undefined;
  const { before, after } = diff;
  /** whether a changed path or an ancestor of one is in the new listing (an unchanged one is in both) */
  const inAfter = (p: string) => after.has(p) || !before.has(p);
  const changed = diff.changed.filter((p) => p !== plan.srcDir);
  if (changed.length === 0) return undefined;
  const ctx = plan.request.source.root;
  if (changed.some((p) => (lstatSync(join(ctx, p), { throwIfNoEntry: false })?.nlink ?? 1) > 1 && after.get(p)?.startsWith("file "))) return undefined;
  const destOf = (p: string) => posix.join(plan.destDir, p.slice(plan.srcDir.length).replace(/^\//, ""));
  const [prevTree] = (await deltas.layerDirs(prev.snapshot)) as [string];
  if (!isRealDir(prevTree, plan.destDir)) return undefined;
  const below = st.snapshot === undefined ? [] : await deltas.layerDirs(st.snapshot);
  if (changed.some((p) => below.some((l) => lstatSync(join(l, destOf(p)), { throwIfNoEntry: false })))) return undefined;
  const key = `delta-${Math.random().toString(36).slice(2)}`;
  const delta = await deltas.prepareDelta(key);
  let copier: Copier | undefined;
  try {
    copier = new Copier({ ...plan.request, targetRoot: delta });
    const fromPrev = new Set<string>(); // directories made in the delta: they shadow the previous tree's
    const fromContext = new Map<string, string>(); // delta directory → the context directory it mirrors
    const ensureParents = (dest: string) => {
      const parts = dest.split("/");
      for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join("/");
        if (lstatSync(join(delta, d), { throwIfNoEntry: false })) continue;
        mkdirSync(join(delta, d));
        fromPrev.add(d);
      }
    };
    const dropExact = new Set<string>();
    const dropTree = new Set<string>();
    const fresh = new Set<string>();
    const freshTrees: string[] = [];
    const isDir = (line: string | undefined) => line?.startsWith("dir ") === true;
    for (const p of changed) {
      // under a directory that was removed, added or replaced as a whole: done with it
      if (changed.some((q) => p.startsWith(`${q}/`) && !(isDir(after.get(q)) && isDir(before.get(q))))) continue;
      const dest = destOf(p);
      ensureParents(dest);
      for (let d = posix.dirname(p); within(plan.srcDir, d) && d !== plan.srcDir && d !== "."; d = posix.dirname(d)) {
        if (!inAfter(d)) continue;
        fromContext.set(destOf(d), d);
        dropExact.add(destOf(d));
        fresh.add(destOf(d));
      }
      if (!inAfter(p)) {
        await deltas.whiteout(join(delta, dest));
        dropTree.add(dest);
      } else if (isDir(after.get(p)) && isDir(before.get(p))) {
        if (!lstatSync(join(delta, dest), { throwIfNoEntry: false })) mkdirSync(join(delta, dest));
        fromContext.set(dest, p);
        dropExact.add(dest);
        fresh.add(dest);
      } else {
        copier.copyPath(p, dest);
        dropTree.add(dest);
        freshTrees.push(dest);
      }
    }
    // the directories' metadata last (making entries in them changed their times), deepest first
    const dirs = [...new Set([...fromPrev, ...fromContext.keys()])].sort((a, b) => b.split("/").length - a.split("/").length || (a < b ? 1 : -1));
    for (const d of dirs) {
      const ctxDir = fromContext.get(d);
      if (ctxDir !== undefined) copier.copyDirMeta(ctxDir, d);
      else copyMeta(join(prevTree, d), join(delta, d));
    }
    const entries: LayerEntry[] = [...fresh].map((d) => statEntry(delta, d) as LayerEntry);
    for (const t of freshTrees) {
      const top = statEntry(delta, t) as LayerEntry;
      entries.push(top);
      if (top.type === "dir") for await (const e of walkDirectory(join(delta, t))) entries.push({ ...e, path: `${t}/${e.path}` });
    }
    const dropped = (path: string) => {
      if (dropExact.has(path)) return true;
      for (let i = path.indexOf("/"); ; i = path.indexOf("/", i + 1)) {
        if (dropTree.has(i === -1 ? path : path.slice(0, i))) return true;
        if (i === -1) return false;
      }
    };
    // an entry kept from the previous layer must have the time a full copy would give it now: a file
    // or directory whose time alone changed (touched, checked out again, an ignored file added) is in
    // no changed listing line, so the patch is given up and the COPY done in full
    const srcOf = (dest: string) => {
      // the destination's own time is the build's either way; directories above it are made by the copy
      if (dest === plan.destDir || !within(plan.destDir, dest)) return undefined;
      const rest = plan.destDir === "" ? dest : dest.slice(plan.destDir.length + 1);
      return plan.srcDir ? `${plan.srcDir}/${rest}` : rest;
    };
    const drop = (path: string, mtime: number) => {
      if (dropped(path)) return true;
      const src = srcOf(path);
      if (src === undefined) return false;
      const now = env.contextIndex.mtimeOf(src);
      const expected = now !== undefined && env.epoch !== undefined ? Math.min(now, env.epoch) : now;
      if (expected !== mtime) throw new Error(`${src}: its time changed`);
      return false;
    };
    const prevLayer = prev.record.layer as NonNullable<CacheRecord["layer"]>;
    const epoch = env.epoch !== undefined ? { sourceDateEpoch: env.epoch } : {};
    const { layer, committed } = await storePatchedLayer(env.store.content, prevLayer.descriptor, drop, entries, epoch);
    // the blob's write goes on: build() waits for it (on success its record follows it: a failure fails the build there)
    env.pendingWrites.push(committed.catch(() => undefined));
    const name = chainName(st.snapshot, layer.diffId);
    await holdSnapshots(env, [name]);
    if (await snap.exists(name)) await snap.remove(key);
    else await deltas.commitDelta(name, prev.snapshot, key);
    return {
      layer, committed, snapshot: name,
      detail: `incremental: ${changed.length} of ${diff.entries} entries changed`,
    };
  } catch {
    // (a layer it cannot patch, a file gone since it was hashed, …): the full copy does it, or says what is wrong
    await snap.remove(key);
    return undefined;
  } finally {
    copier?.close();
  }
}

function copyMeta(from: string, to: string): void {
  const st = lstatSync(from);
  lchownSync(to, st.uid, st.gid);
  chmodSync(to, st.mode & 0o7777);
  keepTimes(to, st);
}

/** Whether each component of `rel` under `root` is a real directory (no symlink on the way). */
function isRealDir(root: string, rel: string): boolean {
  let cur = root;
  for (const part of rel.split("/").filter(Boolean)) {
    cur = join(cur, part);
    if (!lstatSync(cur, { throwIfNoEntry: false })?.isDirectory()) return false;
  }
  return true;
}

