/**
 * RUN --mount=type=bind: a directory or file of the context, an earlier stage or an image, bound
 * into the container (read-only; with `rw` the process may write, into a throwaway copy). As in
 * BuildKit the context is seen through .dockerignore, and what is bound is part of the step's
 * cache key: the content digest of the context files, the source stage's key or the image's id.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, lchownSync, linkSync, lstatSync, mkdirSync, readdirSync, symlinkSync, readlinkSync, type Stats } from "node:fs";
import { rm } from "node:fs/promises";
import { join, posix } from "node:path";
import { resolveInRoot, toolPath } from "@tsbuild/oci";
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
  const local = await roles.sources.local(st, b.from, BY_NAME);
  if (local) return `context:${await local.digest([b.source || "."])}`;
  return `${(await roles.sources.resolve(st, b.from, BY_NAME)).identity}:${b.source}`;
}

/**
 * A hard link, or a copy where the context and the store are on different file systems (EXDEV) or
 * the kernel refuses the link (EPERM: fs.protected_hardlinks, as for a rootless build's context
 * file owned by another user that the user may not write).
 */
function link(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EPERM") throw e;
    copyFileSync(from, to);
  }
}

/**
 * A fifo or device node of the context made anew at `dest` (its kind, numbers, mode and owner):
 * never read (reading a fifo waits for a writer, a device never ends), never shared with the
 * context (a writable mount's chmod would change the context's node).
 */
function specialNode(st: Stats, dest: string): void {
  const mode = (st.mode & 0o7777).toString(8);
  const args = st.isFIFO() ? ["mkfifo", "-m", mode, dest] : ["mknod", "-m", mode, dest, st.isBlockDevice() ? "b" : "c", String(major(st.rdev)), String(minor(st.rdev))];
  const r = spawnSync(toolPath(st.isFIFO() ? "mkfifo" : "mknod"), args.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  if (r.status !== 0) throw new Error(`${args[0]} ${dest}: ${r.stderr?.toString().trim() || `exit ${r.status}`}`);
  lchownSync(dest, st.uid, st.gid);
}

/** Linux's dev_t encoding (glibc's gnu_dev_major / gnu_dev_minor). */
const major = (dev: number) => Number(((BigInt(dev) >> 8n) & 0xfffn) | ((BigInt(dev) >> 32n) & ~0xfffn));
const minor = (dev: number) => Number((BigInt(dev) & 0xffn) | ((BigInt(dev) >> 12n) & ~0xffn));

/**
 * The context below `rel` as .dockerignore lets the build see it: hard links (cheap; for a
 * read-only mount, so never written through) or copies (for a writable one) of its files, fifos and
 * device nodes made anew, sockets left out.
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
    else if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) specialNode(st, dest);
    else if (st.isSocket()) return; // (nothing to bind of it, as fsutil leaves sockets out)
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
  const { sources } = roles;
  try {
    for (const b of binds) {
      const target = posix.resolve(st.image.config.WorkingDir || "/", b.target);
      const rel = posix.normalize(`/${b.source}`).replace(/^\/+/, "");
      let source: string;
      // the main context, or a directory named context read the same way
      const local = b.from === undefined ? undefined : await sources.local(st, b.from, BY_NAME);
      const context = local ?? roles.context;
      const inWhat = local ? `build context ${local.name}` : "the build context";
      if (b.from === undefined || local) {
        const resolved = await resolveInRoot(context.dir, rel); // symlinks followed inside the context
        if (resolved && context.ignore?.excluded(resolved) && !context.ignore.mayIncludeBelow(resolved)) throw fail(`RUN --mount source "${b.source}" is excluded by .dockerignore`);
        const inside = join(context.dir, resolved);
        if (!lstatSync(inside, { throwIfNoEntry: false })) throw fail(`RUN --mount source "${b.source}" not found in ${inWhat}`);
        if (context.ignore || b.readwrite) {
          const tree = join(await sources.scratchDir("bind"), "tree");
          cleanups.push(() => rm(tree, { recursive: true, force: true }));
          filteredContext(context, resolved, tree, b.readwrite);
          source = tree;
        } else source = inside;
      } else {
        // a read-only view, or a throwaway writable snapshot for rw
        const view = await sources.view((await sources.resolve(st, b.from as string, BY_NAME)).snapshot, b.readwrite);
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
