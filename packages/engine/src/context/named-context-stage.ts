/**
 * A named context as a stage's start (solver's initialState) and as what COPY --from / RUN --mount
 * from= read (handler-roles' StageSources):
 * - an image (docker-image://, oci-layout://) is the stage's base as FROM's image is, its config
 *   and layers kept (its ONBUILD triggers run for a FROM, not when it replaces a stage);
 * - a directory is the root file system with no config: one layer holding what its .dockerignore
 *   lets through, owned by root (as BuildKit sends a local context), keyed by the content digest of
 *   that selection; as a FROM base the image is BuildKit's empty image (PATH, WorkingDir /), as a
 *   replaced stage an image with no config at all (BuildKit's zero image);
 * - `docker-image://scratch` is empty.
 */
import { formatPlatform, parsePlatform, StageArgScope, type Stage } from "@tsbuild/dockerfile";
import { DEFAULT_PATH } from "@tsbuild/runtime";
import type { SolverEnv, StageState } from "../solver/state.js";
import { baseImageState, type ImageState } from "../image/image-state.js";
import { resolveBase, unpackImage } from "../image/base-image.js";
import { stepKey as key } from "../step/step-cache.js";
import { fsStep } from "../step/fs-step.js";
import { copyFiles } from "../copy/copier.js";
import type { ImageResolver, ResolvedContext } from "./named-context-source.js";

/** The comment BuildKit's exporter gives a layer no Dockerfile step made. */
export const EXPORTER_COMMENT = "buildkit.exporter.image.v0";

/** base-image.ts bound to the build, for the named contexts. */
export function imageResolver(env: SolverEnv): ImageResolver {
  return { resolveBase: (ref, platform) => resolveBase(env, ref, platform), unpack: (img, of) => unpackImage(env, img, of) };
}

/** The named context `ref` stands for in this build, or undefined. */
export function namedContext(env: SolverEnv, ref: string): Promise<ResolvedContext> | undefined {
  return env.namedContexts.resolve(ref, env.graph.targetPlatform, imageResolver(env));
}

/**
 * The state a stage starts from when a named context stands for it (`replaces`: the stage of that
 * name, else the image its FROM names).
 */
export async function contextState(env: SolverEnv, stage: Stage, ctx: ResolvedContext, replaces: "stage" | "image"): Promise<StageState> {
  // the stage's own platform (FROM --platform), as solver.ts's initialState
  const platform = (stage.platform ? parsePlatform(stage.platform) : undefined) ?? env.graph.targetPlatform;
  const args = new StageArgScope(env.graph);
  if (ctx.kind === "image") {
    const { base } = ctx;
    const image = baseImageState(base.config);
    const stageKey = ctx.identity.startsWith("image:") ? key("image", base.configDigest) : key("context", ctx.identity);
    return {
      stage, platform, image, layers: [...base.layers], snapshot: base.snapshot, args, key: stageKey, stepId: 0,
      base: `image ${ctx.what}@${base.manifest.digest}`,
      ...(base.config.created ? { lastCreated: base.config.created } : {}),
    };
  }
  const config: ImageState["config"] = replaces === "image" ? { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: "/" } : {};
  const image: ImageState = { config, os: platform.os, architecture: platform.architecture, history: [], ...(platform.variant ? { variant: platform.variant } : {}) };
  const st: StageState = { stage, platform, image, layers: [], snapshot: undefined, args, key: key("scratch", formatPlatform(platform)), stepId: 0, base: ctx.what };
  if (ctx.kind === "dir") await loadDir(env, st, ctx);
  return st;
}

/** The directory as one layer on the (empty) stage: cached by the digest of what .dockerignore lets through. */
async function loadDir(env: SolverEnv, st: StageState, ctx: ResolvedContext & { kind: "dir" }): Promise<void> {
  const createdBy = `[context ${ctx.name}] load from client`;
  const source = `context:${await ctx.service.digest(["."])}`;
  const before = st.image.history.length;
  await fsStep(env, st, createdBy, (root) => copyFiles({
    source: { root: ctx.service.dir, ignore: ctx.service.ignore, isContext: true }, sources: ["."], inline: [], dest: "/", workdir: "/", targetRoot: root, instruction: "COPY",
  }), { source });
  // not a Dockerfile step: BuildKit's exporter names the layer; an empty directory adds nothing
  const entry = st.image.history[before];
  if (entry?.empty_layer) st.image.history.splice(before);
  else if (entry) entry.comment = EXPORTER_COMMENT;
}

/** What a named context gives COPY --from / RUN --mount from= when a root is needed: its identity and committed snapshot (memoized per build). */
const roots = new WeakMap<SolverEnv, Map<string, Promise<{ identity: string; snapshot: string | undefined }>>>();
export function contextRoot(env: SolverEnv, st: StageState, ctx: ResolvedContext): Promise<{ identity: string; snapshot: string | undefined }> {
  if (ctx.kind === "image") return Promise.resolve({ identity: ctx.identity, snapshot: ctx.base.snapshot });
  if (ctx.kind === "scratch") return Promise.resolve({ identity: "scratch", snapshot: undefined });
  let mine = roots.get(env);
  if (!mine) roots.set(env, (mine = new Map()));
  let p = mine.get(ctx.name);
  if (!p) {
    p = (async () => {
      const state = await contextState(env, st.stage, ctx, "stage");
      return { identity: `context:${await ctx.service.digest(["."])}`, snapshot: state.snapshot };
    })();
    mine.set(ctx.name, p);
  }
  return p;
}
