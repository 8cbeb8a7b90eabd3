/** Where COPY/ADD read from: the context, an earlier stage, a named context, or an image (COPY --from). */
import type { BuildGraph } from "@tsbuild/dockerfile";
import type { CopySource } from "./copier.js";
import type { CopySelection } from "./copy-units.js";
import type { StageState } from "../solver/state.js";
import type { ContextService, StageSources } from "../solver/roles.js";

/**
 * The index of the earlier stage `from` names (by name, or by index unless `byIndex` is false, as
 * for RUN --mount from=), or undefined when it names an image.
 */
export function earlierStage(graph: BuildGraph, st: StageState, from: string, byIndex = true): number | undefined {
  const idx = byIndex && /^\d+$/.test(from) ? Number(from) : graph.stages.find((s) => s.name === from.toLowerCase())?.index;
  return idx !== undefined && idx < st.stage.index ? idx : undefined;
}

/** What a COPY/ADD reads, for its cache key: the selected context files' digest, the source stage's key, or the image. */
export async function sourceIdentity(
  roles: { context: ContextService; sources: StageSources }, st: StageState, from: string | undefined, sources: string[],
  selection?: CopySelection,
): Promise<string> {
  if (from === undefined) return `context:${await roles.context.digest(sources, selection)}`;
  // a directory named context: what is selected from it, by content, as the main context
  const local = await roles.sources.local(st, from);
  if (local) return `context:${await local.digest(sources, selection)}`;
  // the image's id, not its name: a name that now means another image (retagged, --pull) must miss
  return (await roles.sources.resolve(st, from)).identity;
}

/** `fn` with the root COPY/ADD reads from: the context, or a view of the stage or image `from` names (removed after). */
export async function withCopySource<T>(
  roles: { context: ContextService; sources: StageSources }, st: StageState, from: string | undefined, fn: (src: CopySource) => Promise<T>,
): Promise<T> {
  if (from === undefined) return fn({ root: roles.context.dir, ignore: roles.context.ignore, isContext: true });
  const local = await roles.sources.local(st, from);
  if (local) return fn({ root: local.dir, ignore: local.ignore, isContext: true });
  const { snapshot } = await roles.sources.resolve(st, from);
  const view = await roles.sources.view(snapshot, false);
  try {
    return await fn({ root: view.root, isContext: false });
  } finally {
    await view.release();
  }
}
