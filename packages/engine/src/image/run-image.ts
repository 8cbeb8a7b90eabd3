/** Runs an image's entrypoint/cmd in a throwaway container (`tsbuild run`), to try a result. */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { resolveImage, type Store } from "@tsbuild/oci";
import { chooseSnapshotter } from "@tsbuild/snapshot";
import { hostArchitecture, platformName, platformRunnable, RuncExecutor, type NetworkMode } from "@tsbuild/runtime";
import type { Descriptor, ImageConfig } from "@tsbuild/oci";
import { unpackImage } from "./base-image.js";
import { rm } from "node:fs/promises";

export interface RunImageOptions {
  store: Store;
  target: Descriptor;
  /** the image's name, for errors */
  name?: string;
  /** replaces CMD (and ENTRYPOINT is kept), as docker run IMAGE CMD… does */
  cmd?: string[];
  network?: NetworkMode;
  onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  signal?: AbortSignal;
  /** which image of an index (default this host's); one that is not this host's runs through its emulator */
  platform?: { os: string; architecture: string; variant?: string };
  /** host paths bound into the container (docker run -v): read-write unless readonly */
  mounts?: { source: string; target: string; readonly?: boolean }[];
  /** NAME=VALUE entries set over the image's Env (docker run -e) */
  env?: string[];
  /** the user the process runs as, over the image's USER (docker run -u): a name or id, [:GROUP] */
  user?: string;
  /** replaces ENTRYPOINT and drops the image's CMD (docker run --entrypoint; [] for none) */
  entrypoint?: string[];
  /** "unconfined": no masked /proc and /sys paths (docker run --security-opt systempaths=unconfined) */
  systemPaths?: "masked" | "unconfined";
  /** the working directory, over the image's WORKDIR (docker run -w; runc makes it when missing) */
  workdir?: string;
}

const withHostname = (env: string[]) => (env.some((e) => e.startsWith("HOSTNAME=")) ? env : [...env, "HOSTNAME=buildkitsandbox"]);
const nameOf = (entry: string) => entry.slice(0, entry.includes("=") ? entry.indexOf("=") : entry.length);

/** The image's Env with each of `over` replacing the entry of its name (or added), as docker run -e. */
function withEnv(image: string[], over: string[]): string[] {
  const names = new Set(over.map(nameOf));
  return [...image.filter((e) => !names.has(nameOf(e))), ...over];
}

export async function runImage(opts: RunImageOptions): Promise<number> {
  const platform = opts.platform ?? { os: "linux", architecture: hostArchitecture() };
  const img = await resolveImage(opts.store.content, opts.target, { os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) }).catch((e: Error) => {
    throw new Error(`${opts.name ?? opts.target.digest} has no image for ${platformName(platform)}: ${e.message}`);
  });
  // the image's own platform (a single manifest may be another's): natively or through a registered emulator
  const runnable = platformRunnable({ os: img.config.os || platform.os, architecture: img.config.architecture || platform.architecture });
  if (!runnable.ok) throw new Error(`${opts.name ?? opts.target.digest} is ${img.config.os}/${img.config.architecture}, which cannot run here: ${runnable.why}`);
  const cfg: NonNullable<ImageConfig["config"]> = img.config.config ?? {};
  // docker run --entrypoint replaces ENTRYPOINT and the image's CMD goes with it
  const entrypoint = opts.entrypoint ?? cfg.Entrypoint ?? [];
  const imageCmd = opts.entrypoint ? [] : (cfg.Cmd ?? []);
  const args = [...entrypoint, ...(opts.cmd && opts.cmd.length ? opts.cmd : imageCmd)];
  if (args.length === 0) throw new Error("the image has no ENTRYPOINT or CMD: give a command (tsbuild run IMAGE CMD…)");
  const snapshotter = await chooseSnapshotter(join(opts.store.root, "snapshots"));
  // a session, so a concurrent prune keeps the snapshots this container runs on (store-guard.ts)
  const session = await opts.store.startSession("run");
  try {
    const top = await unpackImage({ snapshotter, store: opts.store, session }, img, `image ${opts.name ?? opts.target.digest}`);
    const key = `run-${randomBytes(6).toString("hex")}`;
    const active = await snapshotter.prepare(key, top);
    const scratch = await opts.store.tmpDir("run-");
    try {
      const executor = new RuncExecutor({ stateDir: join(opts.store.root, "runc"), scratch, cacheRoot: join(opts.store.root, "cache", "mounts") });
      const r = await executor.run({
        // HOSTNAME as docker run sets it (the executor sets none, as BuildKit's RUN)
        rootfs: active.root, args, env: withHostname(withEnv(cfg.Env ?? [], opts.env ?? [])), cwd: opts.workdir ?? (cfg.WorkingDir || "/"), user: opts.user ?? cfg.User ?? "",
        mounts: (opts.mounts ?? []).map((m) => ({ type: "bind" as const, source: m.source, target: m.target, readwrite: !m.readonly })),
        network: opts.network ?? "default", ...(opts.systemPaths ? { systemPaths: opts.systemPaths } : {}), ...(opts.onOutput ? { onOutput: opts.onOutput } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return r.exitCode;
    } finally {
      await snapshotter.remove(key);
      await rm(scratch, { recursive: true, force: true });
    }
  } finally {
    await session.end();
  }
}
