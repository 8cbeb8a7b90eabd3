/**
 * The solver: runs the stages the target reaches, each as soon as the stages it depends on are
 * done (independent stages run concurrently), instructions in order within a stage. The first
 * failure aborts the others. Every step gets a cache key: H(parent key, the instruction as it ran,
 * platform) — for COPY/ADD the content of what it selects is part of it (issue: build cache).
 */
import { handlerRoles } from "./handler-roles.js";
import type { HandlerRoles } from "./roles.js";
import {
  DockerfileError, expandInstruction, formatPlatform, parseDockerfile, parsePlatform, StageArgScope, toInstruction,
  type Instruction, type Stage,
} from "@tsbuild/dockerfile";
import type { SolverEnv, StageState } from "./state.js";
import { resolveBase } from "../image/base-image.js";
import { handlers } from "../instructions/index.js";
import { baseImageState, cloneState, type ImageState } from "../image/image-state.js";
import { BuildError } from "../errors.js";
import type { InstructionHandler } from "../instructions/types.js";
import { DEFAULT_PATH } from "@tsbuild/runtime";
import { normalizeName } from "@tsbuild/oci";
import { draftRecord, lookupStep, stepKey as key } from "../step/step-cache.js";
import { stageLabel } from "./stage-label.js";
import { checkGraphEntitlements } from "../instructions/entitlements.js";
import { contextState, namedContext } from "../context/named-context-stage.js";
import { settleClaim } from "../step/in-flight.js";
import { startPhases } from "../step/phases.js";
import { timed } from "../timing.js";

async function initialState(env: SolverEnv, stage: Stage): Promise<StageState> {
  // FROM --platform (expanded when lowered) picks the stage's platform: its base is resolved for it and
  // its steps are keyed by it, so a --platform=$BUILDPLATFORM stage is the same for every target
  const platform = (stage.platform ? parsePlatform(stage.platform) : undefined) ?? env.graph.targetPlatform;
  const args = new StageArgScope(env.graph);
  // a named context stands in for the stage of its name, else for the image its FROM names
  const replaced = stage.name !== undefined ? namedContext(env, stage.name) : undefined;
  if (replaced) return contextState(env, stage, await replaced, "stage");
  const named = stage.base.kind === "image" ? namedContext(env, stage.base.ref) : undefined;
  if (named) return contextState(env, stage, await named, "image");
  if (stage.base.kind === "stage") {
    const parent = await (env.stages.get(stage.base.index) as Promise<StageState>);
    // a stage built on another keeps its ARGs in scope, as BuildKit does
    return {
      stage, platform: parent.platform, image: cloneState(parent.image), layers: [...parent.layers], snapshot: parent.snapshot, args: parent.args.clone(), key: parent.key, stepId: 0,
      base: `stage ${parent.stage.name ?? parent.stage.index}`,
      ...(parent.lastCreated ? { lastCreated: parent.lastCreated } : {}),
    };
  }
  if (stage.base.kind === "scratch") {
    const image: ImageState = { config: {}, os: platform.os, architecture: platform.architecture, history: [], ...(platform.variant ? { variant: platform.variant } : {}) };
    return { stage, platform, image, layers: [], snapshot: undefined, args, key: key("scratch", formatPlatform(platform)), stepId: 0, base: "scratch" };
  }
  const ref = stage.base.ref;
  const base = await timed(env.emit, "resolve", () => resolveBase(env, ref, platform), stageLabel(stage));
  const image = baseImageState(base.config);
  return {
    stage, platform, image, layers: base.layers, snapshot: base.snapshot, args, key: key("image", base.configDigest), stepId: 0,
    base: `image ${normalizeName(stage.base.ref)}@${base.manifest.digest}`,
    ...(base.config.created ? { lastCreated: base.config.created } : {}),
  };
}

function lookup(st: StageState): (name: string) => string | undefined {
  return (name) => {
    for (const kv of st.image.config.Env ?? []) {
      const eq = kv.indexOf("=");
      if (kv.slice(0, eq) === name) return kv.slice(eq + 1);
    }
    return st.args.get(name);
  };
}

/** Each build's handler roles, made on its first instruction. */
const roles = new WeakMap<SolverEnv, HandlerRoles>();
function rolesOf(env: SolverEnv): HandlerRoles {
  let r = roles.get(env);
  if (!r) roles.set(env, (r = handlerRoles(env)));
  return r;
}

async function runInstruction(env: SolverEnv, st: StageState, raw: Instruction, label: string, n: number, total: number): Promise<void> {
  if (env.signal.aborted) throw new BuildError("the build was cancelled", env.graph.file, raw.position, raw.original);
  const instr = expandInstruction(raw, { lookup: lookup(st), escapeToken: env.graph.escapeToken, file: env.graph.file });
  const id = env.nextStepId();
  st.stepId = id;
  const text = raw.original.trim();
  env.emit({ type: "step-start", id, stage: env.platformLabel ? `${env.platformLabel} ${label}` : label, step: `${n}/${total}`, instruction: text, position: raw.position });
  const t0 = Date.now();
  const clock = startPhases(st);
  try {
    const handler = handlers[instr.kind as Exclude<Instruction["kind"], "from">] as InstructionHandler<Instruction, keyof HandlerRoles> | undefined;
    if (!handler) throw new DockerfileError("unknown-instruction", `${instr.kind.toUpperCase()} cannot be used here`, env.graph.file, raw.position);
    const position = `${env.graph.file}:${raw.position.line}`;
    st.current = { instruction: text, position };
    const before = st.image.history.length;
    const r = (await handler(rolesOf(env), st, instr)) ?? {};
    let cached: boolean;
    let explain = r.explain;
    if (r.key) {
      cached = r.cached === true; // a file-system step keyed (and looked up) itself
    } else {
      // a metadata step: nothing to run, but a record says whether an earlier build made it
      const createdBy = st.image.history.length > before ? (st.image.history[st.image.history.length - 1]?.created_by ?? text) : text;
      const look = await lookupStep(env, st, createdBy, {});
      cached = look.hit !== undefined;
      explain = look.explain;
      if (!cached) {
        const record = { ...draftRecord(st, look.key, createdBy, {}), created: st.lastCreated ?? "" };
        env.pendingWrites.push(env.cache.putLater(record));
        settleClaim(st, look.key, record);
      }
      st.key = look.key;
    }
    settleClaim(st); // a claimed step that left no record: whoever waits runs it
    if (!cached) env.missed.set(st.key, { position, instruction: text });
    const durationMs = Date.now() - t0;
    env.steps.push({ stage: label, ...(env.platformLabel ? { platform: env.platformLabel } : {}), instruction: text, position, cacheKey: r.key ?? st.key, cached, durationMs, ...(explain ? { explain } : {}) });
    // a hit's phases (none are timed on its way) are never shown
    const phases = cached ? undefined : clock.result();
    env.emit({ type: "step-done", id, durationMs, cached, cacheKey: r.key ?? st.key, ...(r.layer ? { layer: r.layer } : {}), ...(explain ? { explain } : {}), ...(r.detail ? { detail: r.detail } : {}), ...(phases ? { phases } : {}) });
  } catch (e) {
    // a stage waiting for this step runs it itself (and fails, or is cancelled, as the build fails)
    settleClaim(st);
    env.emit({ type: "step-failed", id, error: (e as Error).message });
    if (e instanceof BuildError || e instanceof DockerfileError) throw e;
    throw new BuildError((e as Error).message, env.graph.file, raw.position, text);
  }
}

/** ONBUILD triggers of the base image run first, then are dropped from the config. */
async function runTriggers(env: SolverEnv, st: StageState, label: string): Promise<void> {
  const triggers = st.image.config.OnBuild ?? [];
  if (triggers.length === 0) return;
  st.image.config.OnBuild = null;
  for (const [n, t] of triggers.entries()) {
    const parsed = parseDockerfile(t, { file: `${env.graph.file} (ONBUILD of ${st.stage.from.image})` });
    const instr = toInstruction({ ...(parsed.children[0] as NonNullable<(typeof parsed.children)[0]>), startLine: st.stage.position.line, endLine: st.stage.position.line }, env.graph.file);
    await runInstruction(env, st, instr, label, n + 1, triggers.length);
  }
}

export async function solveStage(env: SolverEnv, stage: Stage): Promise<StageState> {
  // a stage a named context replaces runs none of its instructions (BuildKit's noinit)
  if (stage.name !== undefined && env.namedContexts.has(stage.name)) return initialState(env, stage);
  for (const d of stage.dependsOn) await env.stages.get(d);
  const label = stageLabel(stage);
  const st = await initialState(env, stage);
  if (stage.base.kind === "scratch") {
    // as BuildKit: a scratch stage gets the default PATH and "/" as its working directory
    st.image.config.Env = [`PATH=${DEFAULT_PATH}`];
    st.image.config.WorkingDir = "/";
  } else if (!(st.image.config.Env ?? []).some((kv) => kv.startsWith("PATH="))) {
    // as BuildKit's dispatch: every stage it runs has a PATH (a base with none, e.g. a stage a
    // directory context replaced, gets the default)
    st.image.config.Env = [...(st.image.config.Env ?? []), `PATH=${DEFAULT_PATH}`];
  }
  await runTriggers(env, st, label);
  const total = stage.instructions.length;
  for (const [n, instr] of stage.instructions.entries()) await runInstruction(env, st, instr, label, n + 1, total);
  return st;
}

/** Starts every reachable stage; resolves with the target stage's final state. */
export async function solve(env: SolverEnv): Promise<StageState> {
  checkGraphEntitlements(env.allow, env.graph);
  for (const i of env.graph.reachable) {
    const stage = env.graph.stages[i] as Stage;
    const p = solveStage(env, stage);
    p.catch(() => undefined);
    env.stages.set(i, p);
  }
  const all = env.graph.reachable.map((i) => env.stages.get(i) as Promise<StageState>);
  const results = await Promise.allSettled(all);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return (results[results.length - 1] as PromiseFulfilledResult<StageState>).value;
}
