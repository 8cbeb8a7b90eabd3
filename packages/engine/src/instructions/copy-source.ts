/** Where COPY/ADD read from: the context, an earlier stage, or an image (COPY --from). */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { CopySource } from "../fileops/copy.js";
import type { SolverEnv, StageState } from "../build-context-types.js";
import { resolveBase } from "../base-image.js";

/** The index of the earlier stage `from` names (by name or index), or undefined when it names an image. */
export function earlierStage(env: SolverEnv, st: StageState, from: string): number | undefined {
  const idx = /^\d+$/.test(from) ? Number(from) : env.graph.stages.find((s) => s.name === from.toLowerCase())?.index;
  return idx !== undefined && idx < st.stage.index ? idx : undefined;
}

/** What a COPY/ADD reads, for its cache key: the selected context files' digest, the source stage's key, or the image. */
export async function sourceIdentity(env: SolverEnv, st: StageState, from: string | undefined, sources: string[]): Promise<string> {
  if (from === undefined) return `context:${await env.contextIndex.digest(env.context.dir, env.context.ignore, sources)}`;
  const idx = earlierStage(env, st, from);
  if (idx !== undefined) return `stage:${(await (env.stages.get(idx) as Promise<StageState>)).key}`;
  // the image's id, not its name: a name that now means another image (retagged, --pull) must miss
  return `image:${(await resolveBase(env, from, env.graph.targetPlatform)).configDigest}`;
}

export async function withCopySource<T>(env: SolverEnv, st: StageState, from: string | undefined, fn: (src: CopySource) => Promise<T>): Promise<T> {
  if (from === undefined) return fn({ root: env.context.dir, ignore: env.context.ignore, isContext: true });
  let snapshot: string | undefined;
  const idx = earlierStage(env, st, from);
  if (idx !== undefined) {
    const other = await env.stages.get(idx);
    if (!other) throw new Error(`stage ${from} was not built`);
    snapshot = (await other).snapshot;
  } else {
    const platform = env.graph.targetPlatform;
    snapshot = (await resolveBase(env, from, platform)).snapshot;
  }
  if (snapshot === undefined) {
    const empty = join(env.scratch, `empty-${randomBytes(4).toString("hex")}`);
    await mkdir(empty, { recursive: true });
    return fn({ root: empty, isContext: false });
  }
  const key = `view-${randomBytes(8).toString("hex")}`;
  const view = await env.snapshotter.view(key, snapshot);
  try {
    return await fn({ root: view.root, isContext: false });
  } finally {
    await env.snapshotter.remove(key);
  }
}
