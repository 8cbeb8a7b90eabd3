/**
 * RUN --mount=type=bind: a directory or file of the context, an earlier stage or an image, bound
 * into the container (read-only; with `rw` the process may write, into a throwaway copy). As in
 * BuildKit the context is seen through .dockerignore, and what is bound is part of the step's
 * cache key: the content digest of the context files, the source stage's key or the image's id.
 */
import { copyFileSync, linkSync, lstatSync, mkdirSync, readdirSync, symlinkSync, readlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join, posix } from "node:path";
import { resolveInRoot } from "@tsbuild/oci";
import type { BindMountSpec } from "@tsbuild/dockerfile";
import type { RunMount } from "@tsbuild/runtime";
import type { SolverEnv, StageState } from "../build-context-types.js";
import { resolveBase } from "../base-image.js";
import { earlierStage } from "./copy-source.js";
import { BuildError } from "../errors.js";

/** What a bind mount makes the step depend on (for its cache key). */
export async function bindIdentity(env: SolverEnv, st: StageState, b: BindMountSpec): Promise<string> {
  if (b.from === undefined) return `context:${await env.contextIndex.digest(env.context.dir, env.context.ignore, [b.source || "."])}`;
  const idx = earlierStage(env, st, b.from);
  if (idx !== undefined) return `stage:${(await env.stages.get(idx))?.key}:${b.source}`;
  return `image:${(await resolveBase(env, b.from, env.graph.targetPlatform)).configDigest}:${b.source}`;
}

/** A hard link, or a copy where the context and the store are on different file systems. */
function link(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    copyFileSync(from, to);
  }
}

/**
 * The context below `rel` as .dockerignore lets the build see it: hard links (cheap; for a
 * read-only mount, so never written through) or copies (for a writable one).
 */
function filteredContext(env: SolverEnv, rel: string, into: string, copies: boolean): void {
  const ignore = env.context.ignore;
  const copy = (r: string, dest: string): void => {
    const abs = join(env.context.dir, r);
    const st = lstatSync(abs);
    if (st.isDirectory()) {
      mkdirSync(dest, { recursive: true });
      for (const n of readdirSync(abs)) {
        const child = r ? `${r}/${n}` : n;
        if (ignore?.excluded(child) && !(lstatSync(join(abs, n)).isDirectory() && ignore.mayIncludeBelow(child))) continue;
        copy(child, join(dest, n));
      }
    } else if (st.isSymbolicLink()) symlinkSync(readlinkSync(abs), dest);
    else if (copies) copyFileSync(abs, dest);
    else link(abs, dest);
  };
  copy(rel, into);
}

/** Runs `fn` with the bind mounts in place (views, filtered trees), removing them after. */
export async function withBinds<T>(
  env: SolverEnv, st: StageState, binds: BindMountSpec[], where: { position: { line: number; column: number }; original: string }, fn: (mounts: RunMount[]) => Promise<T>,
): Promise<T> {
  const cleanups: (() => Promise<void>)[] = [];
  const mounts: RunMount[] = [];
  const fail = (msg: string) => new BuildError(msg, env.graph.file, where.position, where.original);
  try {
    for (const b of binds) {
      const target = posix.resolve(st.image.config.WorkingDir || "/", b.target);
      const rel = posix.normalize(`/${b.source}`).replace(/^\/+/, "");
      let source: string;
      if (b.from === undefined) {
        const resolved = await resolveInRoot(env.context.dir, rel); // symlinks followed inside the context
        if (resolved && env.context.ignore?.excluded(resolved) && !env.context.ignore.mayIncludeBelow(resolved)) throw fail(`RUN --mount source "${b.source}" is excluded by .dockerignore`);
        const inside = join(env.context.dir, resolved);
        if (!lstatSync(inside, { throwIfNoEntry: false })) throw fail(`RUN --mount source "${b.source}" not found in the build context`);
        const tree = join(env.scratch, `bind-${randomBytes(6).toString("hex")}`);
        if (env.context.ignore || b.readwrite) {
          cleanups.push(() => rm(tree, { recursive: true, force: true }));
          filteredContext(env, resolved, tree, b.readwrite);
          source = tree;
        } else source = inside;
      } else {
        const idx = earlierStage(env, st, b.from);
        const snapshot = idx !== undefined ? (await env.stages.get(idx))?.snapshot : (await resolveBase(env, b.from, env.graph.targetPlatform)).snapshot;
        const key = `bind-${randomBytes(6).toString("hex")}`;
        let root: string;
        if (snapshot === undefined) {
          root = join(env.scratch, key);
          mkdirSync(root, { recursive: true });
        } else {
          // a read-only view, or a throwaway writable snapshot for rw
          root = (b.readwrite ? await env.snapshotter.prepare(key, snapshot) : await env.snapshotter.view(key, snapshot)).root;
          cleanups.push(() => env.snapshotter.remove(key));
        }
        source = join(root, await resolveInRoot(root, rel));
        if (!lstatSync(source, { throwIfNoEntry: false })) throw fail(`RUN --mount source "${b.source}" not found in ${b.from}`);
      }
      mounts.push({ type: "bind", target, source, ...(b.readwrite ? { readwrite: true } : {}) });
    }
    return await fn(mounts);
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}
