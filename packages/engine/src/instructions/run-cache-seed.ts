/**
 * RUN --mount=type=cache,from=…: what a new cache starts with (the runtime's CacheSeed,
 * packages/runtime/src/cache-mounts.ts): a read-only view of the stage's or image's root, held
 * while the RUN runs, paths resolved inside it as BuildKit resolves a mount's source (symlinks
 * followed inside the root), and copied out with their owners, modes, times and hard links (the
 * Copier, as COPY --from copies). What the seed is goes into the step's cache key.
 */
import { lstat } from "node:fs/promises";
import { posix } from "node:path";
import type { CacheMountSpec } from "@tsbuild/dockerfile";
import type { CacheSeed } from "@tsbuild/runtime";
import { readdirSync } from "node:fs";
import type { StageState } from "../solver/state.js";
import type { HandlerRoles } from "../solver/roles.js";
import { Copier, CopyError, followInRoot } from "../copy/copier.js";
import { BuildError } from "../errors.js";
import { BY_NAME } from "./run-bind.js";

export type SeedRoles = Pick<HandlerRoles, "graph" | "sources">;
type Where = { position: { line: number; column: number }; original: string };

/** What a seeded cache mount makes the step depend on (for its cache key): its source's identity. */
export async function cacheSeedIdentity(roles: SeedRoles, st: StageState, m: CacheMountSpec & { from: string }): Promise<string> {
  const r = await roles.sources.resolve(st, m.from, BY_NAME);
  return `${r.identity}@${r.snapshot ?? "empty"}`;
}

/** Copies `rel` of `root` (everything below it but `except`) to the same path under `tree`. */
function copyOut(root: string, tree: string, rel: string, except: readonly string[]): void {
  const skip = (p: string) => except.includes(p); // a directory left out is left out whole
  const copier = new Copier({ source: { root, isContext: false, skip }, sources: [], dest: "/", workdir: "/", targetRoot: tree, instruction: "COPY" });
  try {
    if (rel !== "") copier.copyPath(rel, rel);
    else {
      for (const n of readdirSync(root).sort()) if (!skip(n)) copier.copyPath(n, n);
      copier.copyDirMeta("", "");
    }
  } finally {
    copier.close();
  }
}

/**
 * The seeds of a RUN's cache mounts with `from`, each with its view of the source; `fn` runs with
 * them (the views are released after it).
 */
export async function withCacheSeeds<T>(roles: SeedRoles, st: StageState, mounts: (CacheMountSpec & { from: string })[], where: Where, fn: (seeds: CacheSeed[]) => Promise<T>): Promise<T> {
  const releases: (() => Promise<void>)[] = [];
  const fail = (msg: string) => new BuildError(msg, roles.graph.file, where.position, where.original);
  try {
    const seeds: CacheSeed[] = [];
    for (const m of mounts) {
      const resolved = await roles.sources.resolve(st, m.from, BY_NAME);
      const view = await roles.sources.view(resolved.snapshot, false);
      releases.push(() => view.release());
      const root = view.root;
      seeds.push({
        identity: `${resolved.identity}@${resolved.snapshot ?? "empty"}`,
        async resolve(path: string): Promise<string> {
          const rel = posix.normalize(`/${path}`).replace(/^\/+|\/+$/g, "");
          const found = rel === "" ? "" : await followInRoot(root, rel);
          if (found !== "" && !(await lstat(posix.join(root, found)).catch(() => undefined))) {
            throw fail(`RUN --mount=type=cache source "/${rel}" not found in ${m.from}`);
          }
          return found;
        },
        async copy(tree: string, rel: string, except: readonly string[]): Promise<void> {
          try {
            copyOut(root, tree, rel, except);
          } catch (e) {
            // the Copier's refusals (a fifo or a device node): not copied yet, said at the RUN
            if (e instanceof CopyError) throw fail(`RUN --mount=type=cache,from=${m.from}: ${e.message.replace(/^COPY: /, "")} into a cache (not supported yet)`);
            throw e;
          }
        },
      });
    }
    return await fn(seeds);
  } finally {
    for (const r of releases.reverse()) await r();
  }
}
