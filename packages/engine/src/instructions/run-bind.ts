/**
 * RUN --mount=type=bind: a directory or file of the context, an earlier stage or an image, bound
 * into the container (read-only; with `rw` the process may write, into a throwaway copy). As in
 * BuildKit the context is seen through .dockerignore, and what is bound is part of the step's
 * cache key: the content digest of the context files, the source stage's key or the image's id.
 */
import { copyFileSync, linkSync, lstatSync, mkdirSync, readdirSync, symlinkSync, readlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, posix } from "node:path";
import { resolveInRoot } from "@tsbuild/oci";
import type { BindMountSpec } from "@tsbuild/dockerfile";
import type { RunMount } from "@tsbuild/runtime";
import type { StageState } from "../solver/state.js";
import type { ContextService, HandlerRoles } from "../solver/roles.js";
import { BuildError } from "../errors.js";

/** RUN --mount from= names a stage by name only (`from=0` is an image), as BuildKit. */
export const BY_NAME = { byIndex: false } as const;

/** What bind mounts read: the context, earlier stages and images; errors name the Dockerfile. */
export type BindRoles = Pick<HandlerRoles, "graph" | "context" | "sources">;

/** What a bind mount makes the step depend on (for its cache key). */
export async function bindIdentity(roles: BindRoles, st: StageState, b: BindMountSpec): Promise<string> {
  if (b.from === undefined) return `context:${await roles.context.digest([b.source || "."])}`;
  return `${(await roles.sources.resolve(st, b.from, BY_NAME)).identity}:${b.source}`;
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
function filteredContext(context: ContextService, rel: string, into: string, copies: boolean): void {
  const ignore = context.ignore;
  const copy = (r: string, dest: string): void => {
    const abs = join(context.dir, r);
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
  roles: BindRoles, st: StageState, binds: BindMountSpec[], where: { position: { line: number; column: number }; original: string }, fn: (mounts: RunMount[]) => Promise<T>,
): Promise<T> {
  const cleanups: (() => Promise<void>)[] = [];
  const mounts: RunMount[] = [];
  const fail = (msg: string) => new BuildError(msg, roles.graph.file, where.position, where.original);
  const { context, sources } = roles;
  try {
    for (const b of binds) {
      const target = posix.resolve(st.image.config.WorkingDir || "/", b.target);
      const rel = posix.normalize(`/${b.source}`).replace(/^\/+/, "");
      let source: string;
      if (b.from === undefined) {
        const resolved = await resolveInRoot(context.dir, rel); // symlinks followed inside the context
        if (resolved && context.ignore?.excluded(resolved) && !context.ignore.mayIncludeBelow(resolved)) throw fail(`RUN --mount source "${b.source}" is excluded by .dockerignore`);
        const inside = join(context.dir, resolved);
        if (!lstatSync(inside, { throwIfNoEntry: false })) throw fail(`RUN --mount source "${b.source}" not found in the build context`);
        if (context.ignore || b.readwrite) {
          const tree = join(await sources.scratchDir("bind"), "tree");
          cleanups.push(() => rm(tree, { recursive: true, force: true }));
          filteredContext(context, resolved, tree, b.readwrite);
          source = tree;
        } else source = inside;
      } else {
        // a read-only view, or a throwaway writable snapshot for rw
        const view = await sources.view((await sources.resolve(st, b.from, BY_NAME)).snapshot, b.readwrite);
        cleanups.push(() => view.release());
        const root = view.root;
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
