/**
 * The handlers' roles (roles.ts), made once per build from the build's state: the one place that
 * knows which part of the state each role stands for.
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { SolverEnv, StageState } from "./state.js";
import { resolveBase } from "../image/base-image.js";
import { fsStep } from "../step/fs-step.js";
import { linkStep } from "../step/link-step.js";
import { incrementalCopy } from "../copy/incremental-copy.js";
import { earlierStage } from "../copy/copy-source.js";
import { contextRoot, namedContext } from "../context/named-context-stage.js";
import type { HandlerRoles, StageSources } from "./roles.js";
import { DownloadValidators } from "../remote/download-validators.js";

function stageSources(env: SolverEnv): StageSources {
  const scratchDir = async (prefix: string) => {
    const dir = join(env.scratch, `${prefix}-${randomBytes(6).toString("hex")}`);
    await mkdir(dir, { recursive: true });
    return dir;
  };
  return {
    async resolve(st: StageState, from: string, opts?: { byIndex: boolean }) {
      const idx = earlierStage(env.graph, st, from, opts?.byIndex ?? true);
      if (idx !== undefined) {
        const other = await env.stages.get(idx);
        if (!other) throw new Error(`stage ${from} was not built`);
        return { identity: `stage:${other.key}`, snapshot: other.snapshot };
      }
      const named = namedContext(env, from);
      if (named) return contextRoot(env, st, await named);
      const base = await resolveBase(env, from, env.graph.targetPlatform);
      return { identity: `image:${base.configDigest}`, snapshot: base.snapshot };
    },
    async local(st: StageState, from: string, opts?: { byIndex: boolean }) {
      if (earlierStage(env.graph, st, from, opts?.byIndex ?? true) !== undefined) return undefined;
      const named = namedContext(env, from);
      const ctx = named ? await named : undefined;
      return ctx?.kind === "dir" ? { ...ctx.service, name: ctx.name } : undefined;
    },
    async view(snapshot: string | undefined, writable: boolean) {
      if (snapshot === undefined) return { root: await scratchDir("empty"), release: async () => undefined };
      const key = `view-${randomBytes(8).toString("hex")}`;
      const view = writable ? await env.snapshotter.prepare(key, snapshot) : await env.snapshotter.view(key, snapshot);
      return { root: view.root, release: () => env.snapshotter.remove(key) };
    },
    scratchDir,
  };
}

export function handlerRoles(env: SolverEnv): HandlerRoles {
  return {
    graph: env.graph,
    // its own value: no handler holds the build state, not even under another type
    clock: env.epoch !== undefined ? { epoch: env.epoch } : {},
    steps: {
      change: (st, createdBy, change, inputs, shortcut, bound = "files", unchanged) =>
        fsStep(env, st, createdBy, change, inputs, shortcut, bound === "containers" ? env.runLimiter : env.limiter, unchanged),
      hasDirectory: async (st, path) => (await env.snapshotter.lookup?.isDirectory(st.snapshot, path.replace(/^\/+/, ""))) ?? false,
      linked: (st, createdBy, change, inputs) => linkStep(env, st, createdBy, change, inputs),
      incrementalCopy: (st, createdBy, inputs, plan) => () => incrementalCopy(env, st, createdBy, inputs, plan),
    },
    context: {
      dir: env.context.dir,
      ignore: env.context.ignore,
      digest: (sources, selection) => env.contextIndex.digest(env.context.dir, env.context.ignore, sources, selection),
    },
    sources: stageSources(env),
    containers: { executor: env.executor, network: env.network, secrets: env.secrets, ssh: env.ssh, allow: env.allow, signal: env.signal, emit: env.emit },
    downloads: { transport: () => env.http.get(), validators: new DownloadValidators(join(env.store.root, "cache", "http")), signal: env.signal },
  };
}
