/**
 * build(options): the library API. Reads the Dockerfile and context, solves the graph, writes the
 * image into the store and the outputs asked for, and reports typed events. The CLI is one
 * consumer of it.
 */
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { cpus } from "node:os";
import type { Readable } from "node:stream";
import { loadDockerfile, type PlatformSpec } from "@tsbuild/dockerfile";
import { defaultStoreRoot, Store, writeImage, type Digest, type ImageConfig, type LayerCompression, type StoreSession } from "@tsbuild/oci";
import { chooseSnapshotter } from "@tsbuild/snapshot";
import { RuncExecutor, type NetworkMode } from "@tsbuild/runtime";
import { BuildTransport } from "./remote/build-transport.js";
import { loadContext } from "./context/build-context.js";
import { unpackContextTar } from "./context/tar-context.js";
import type { EventSink } from "./events.js";
import type { SolverEnv, StageState, StepRecord } from "./solver/state.js";
import { solve } from "./solver/solver.js";
import { sweepDeadBuilds } from "./prune/dead-builds.js";
import { Semaphore } from "./step/semaphore.js";
import { LocalCache } from "./cache/build-cache.js";
import { ContextIndex } from "./context/digest.js";
import { contextIndexPath } from "./context/stat-index.js";
import { ContextListings } from "./context/listing.js";
import { MissExplainer } from "./cache/explain.js";
import { checkOutput, exportImage, type ExportedImage, type OutputSpec } from "./image/export.js";
import type { Annotation } from "./image/annotations.js";
import type { CacheFromSpec, CacheToSpec } from "./cache/io/spec.js";
import { closeCacheSources, exportCaches, inlineCache, openCacheSources, type CacheIo } from "./cache/io/share.js";
import { ImportingCache } from "./cache/io/importing-cache.js";
import type { CacheSource } from "./cache/io/source.js";
import { allowedEntitlements, type Entitlement } from "./instructions/entitlements.js";

export interface BuildOptions {
  /**
   * the build context: a directory, or a tar stream of one (plain, gzip or zstd, as
   * `docker build -` reads standard input), unpacked into the store's scratch space for the build
   */
  context: string | Readable;
  /** the Dockerfile path (default CONTEXT/Dockerfile) */
  dockerfile?: string;
  /** the Dockerfile text (instead of reading `dockerfile`) */
  dockerfileText?: string;
  tags?: string[];
  buildArgs?: Record<string, string> | Map<string, string>;
  target?: string;
  platform?: PlatformSpec;
  labels?: Record<string, string>;
  /** the network RUNs have (default: the host's, as tsbuild has no network of its own); "host" grants network.host */
  network?: NetworkMode;
  /** --secret values by id (what RUN --mount=type=secret reads) */
  secrets?: Map<string, Buffer>;
  /**
   * BuildKit's entitlements the build grants (--allow): "security.insecure" lets `RUN
   * --security=insecure` run privileged, "network.host" lets `RUN --network=host` run; a RUN
   * needing one not given fails the build at its line
   */
  allow?: Entitlement[];
  /** the store (default: TSBUILD_ROOT or /var/lib/tsbuild) */
  root?: string;
  outputs?: OutputSpec[];
  /**
   * annotations for every output that can carry them (buildx's --annotation; see
   * parseAnnotationFlag): an output that cannot (docker, local, tar) is refused
   */
  annotations?: Annotation[];
  snapshotter?: "auto" | "overlay" | "copy";
  insecureRegistries?: string[];
  /** ignore the cache for every step (--no-cache) / for these stages (--no-cache-filter) */
  noCache?: boolean;
  noCacheFilter?: string[];
  /** say, for every step that missed the cache, which input changed (StepRecord.explain) */
  explain?: boolean;
  /** re-resolve base images in their registry even when they are in the store */
  pull?: boolean;
  /** caches to import (--cache-from; see parseCacheFrom) and to export (--cache-to; see parseCacheTo) */
  cacheFrom?: CacheFromSpec[];
  cacheTo?: CacheToSpec[];
  /** clamp timestamps (SOURCE_DATE_EPOCH) */
  sourceDateEpoch?: number;
  /** layer compression where the image leaves the store (push, OCI output); default gzip */
  compression?: LayerCompression;
  /**
   * the most RUN containers running at once (default: no limit, as BuildKit); tsbuild's own file
   * work (copies, diffs, tars, hashing) is bounded by the number of cores whatever this says
   */
  maxParallelRuns?: number;
  onEvent?: EventSink;
  signal?: AbortSignal;
}

export interface BuildResult {
  /** the config digest, as docker calls the image id */
  imageId: Digest;
  /** what the first image output names (the manifest, or with BUILDKIT_MULTI_PLATFORM the index); else the built manifest */
  manifestDigest: Digest;
  names: string[];
  steps: StepRecord[];
  warnings: string[];
  exported: string[];
}

export async function build(opts: BuildOptions): Promise<BuildResult> {
  const store = await Store.open(opts.root ?? defaultStoreRoot());
  // what killed builds left (containers, mounts, scratch, active snapshots) goes first (dead-builds.ts)
  const swept = await sweepDeadBuilds(store);
  if (swept.failed.length) {
    opts.onEvent?.({ type: "warning", message: `could not remove what an interrupted build left: ${swept.failed.join(", ")} (run tsbuild prune, or remove them by hand)` });
  }
  // registered for the whole build: a concurrent prune keeps what it holds (store-guard.ts)
  const session = await store.startSession("build");
  let unpacked: string | undefined;
  try {
    const context = typeof opts.context === "string" ? opts.context : (unpacked = await unpackContextTar(store, opts.context, opts.signal));
    return await buildInStore({ ...opts, context }, store, session);
  } finally {
    if (unpacked) await rm(unpacked, { recursive: true, force: true });
    await session.end();
  }
}

async function buildInStore(opts: BuildOptions & { context: string }, store: Store, session: StoreSession): Promise<BuildResult> {
  const contextDir = resolve(opts.context);
  const dockerfilePath = opts.dockerfile ? resolve(opts.dockerfile) : join(contextDir, "Dockerfile");
  const text = opts.dockerfileText ?? (await readFile(dockerfilePath, "utf8"));
  const fileLabel = opts.dockerfileText !== undefined ? "Dockerfile" : (opts.dockerfile ?? "Dockerfile");
  const graph = loadDockerfile(text, fileLabel, {
    ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}),
    ...(opts.target ? { target: opts.target } : {}),
    ...(opts.platform ? { platform: opts.platform } : {}),
  });
  const emit: EventSink = opts.onEvent ?? (() => undefined);
  for (const w of graph.warnings) emit({ type: "warning", message: w });
  const outputs = opts.outputs ?? [{ type: "image" as const }];
  const exportable = { annotations: opts.annotations ?? [], platform: graph.targetPlatform, multiPlatform: graph.builderArgs.multiPlatform };
  // what an output cannot carry fails the build before any step runs
  for (const out of outputs) checkOutput(out, exportable);
  // BUILDKIT_INLINE_CACHE=1 is --cache-to type=inline, as buildx reads it
  const cacheTo = [...(opts.cacheTo ?? [])];
  if (graph.builderArgs.inlineCache && !cacheTo.some((c) => c.type === "inline")) cacheTo.push({ type: "inline" });
  const scratch = await store.tmpDir("build-");
  const controller = new AbortController();
  const onAbort = () => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) controller.abort();
  let stepId = 0;
  const listings = new ContextListings(join(store.root, "cache", "listings"));
  const env: SolverEnv = {
    store,
    snapshotter: await chooseSnapshotter(join(store.root, "snapshots"), opts.snapshotter ?? "auto"),
    executor: new RuncExecutor({ stateDir: join(store.root, "runc"), scratch: join(scratch, "run"), cacheRoot: join(store.root, "cache", "mounts") }),
    context: await loadContext(contextDir, opts.dockerfile ? dockerfilePath : undefined),
    graph,
    emit,
    signal: controller.signal,
    network: opts.network ?? "default",
    registry: { insecureRegistries: opts.insecureRegistries ?? [] },
    // ADD's downloads (made on first use: registry and undici load only when needed)
    http: new BuildTransport(),
    ...(opts.sourceDateEpoch !== undefined ? { epoch: opts.sourceDateEpoch } : {}),
    secrets: opts.secrets ?? new Map(),
    allow: allowedEntitlements(opts.allow ?? [], opts.network ?? "default"),
    steps: [],
    nextStepId: () => ++stepId,
    stages: new Map(),
    scratch,
    limiter: new Semaphore(Math.max(1, cpus().length)),
    runLimiter: new Semaphore(opts.maxParallelRuns !== undefined ? Math.max(1, Math.floor(opts.maxParallelRuns)) : Infinity),
    cache: new LocalCache(store),
    noCache: opts.noCache ?? false,
    noCacheStages: new Set((opts.noCacheFilter ?? []).map((s) => s.toLowerCase())),
    contextIndex: new ContextIndex(contextIndexPath(store.root, contextDir), listings),
    listings,
    missed: new Map(),
    pendingWrites: [],
    pull: opts.pull ?? false,
    session,
  };
  if (opts.explain) env.explainer = new MissExplainer(env.cache, listings);
  await env.contextIndex.load();
  const cacheIo: CacheIo = { store, registry: env.registry, platform: graph.targetPlatform, emit };
  let cacheSources: CacheSource[] = [];
  try {
    cacheSources = await openCacheSources(opts.cacheFrom ?? [], cacheIo);
    if (cacheSources.length) env.cache = new ImportingCache(store, cacheSources, (message) => emit({ type: "warning", message }));
    let final: StageState;
    try {
      final = await solve(env);
      await Promise.all(env.pendingWrites);
    } catch (e) {
      controller.abort();
      // build() returns with nothing left writing into the store (records, blobs, the context index, listings)
      await Promise.allSettled([...env.pendingWrites, env.contextIndex.save()]);
      throw e;
    }
    await env.contextIndex.save();
    // the image is as old as its newest layer (so a rebuild from cache gives the same image id)
    const created = opts.sourceDateEpoch !== undefined
      ? new Date(opts.sourceDateEpoch * 1000).toISOString()
      : (final.lastCreated ?? new Date().toISOString());
    const cfg = final.image.config;
    if (opts.labels && Object.keys(opts.labels).length) cfg.Labels = { ...cfg.Labels, ...opts.labels };
    // Go writes map keys sorted; so do we, for identical configs
    const sorted = <T>(m: Record<string, T> | undefined) => (m ? Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : m);
    if (cfg.Labels) cfg.Labels = sorted(cfg.Labels) as Record<string, string>;
    if (cfg.ExposedPorts) cfg.ExposedPorts = sorted(cfg.ExposedPorts) as typeof cfg.ExposedPorts;
    if (cfg.Volumes) cfg.Volumes = sorted(cfg.Volumes) as typeof cfg.Volumes;
    // Go's omitempty: empty strings, nulls and empty lists/maps are not written (a base image
    // imported by docker carries "User": "", "WorkingDir": "", which BuildKit drops)
    for (const [k, v] of Object.entries(cfg)) {
      const empty = v === "" || v === null || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
      if (empty) delete (cfg as Record<string, unknown>)[k];
    }
    // a --platform asked for is the image's platform, whatever its base's (BuildKit, when the
    // target is not implicit); else the base image's
    const platform = graph.explicitPlatform
      ? { os: graph.targetPlatform.os, architecture: graph.targetPlatform.architecture, variant: graph.targetPlatform.variant }
      : { os: final.image.os, architecture: final.image.architecture, variant: final.image.variant };
    const config: Omit<ImageConfig, "rootfs"> = {
      created,
      ...(final.image.author ? { author: final.image.author } : {}),
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: cfg as NonNullable<ImageConfig["config"]>,
      history: final.image.history,
      ...(await inlineCache(cacheTo, cacheIo, env)),
    };
    const img = await writeImage(store.content, config, final.layers);
    const names = opts.tags ?? [];
    const exported: string[] = [];
    const image: ExportedImage = { ...exportable, manifest: img.manifest, layers: final.layers, ...(opts.sourceDateEpoch !== undefined ? { epoch: opts.sourceDateEpoch } : {}) };
    let manifestDigest: Digest | undefined;
    for (const out of outputs) {
      const { what, target } = await exportImage(store, out, image, names, scratch, env.registry, opts.compression ?? "gzip");
      if (out.type === "image" && target && manifestDigest === undefined) manifestDigest = target.digest;
      exported.push(what);
      emit({ type: "exported", what });
    }
    for (const what of await exportCaches(cacheTo, cacheIo, env)) {
      exported.push(what);
      emit({ type: "exported", what });
    }
    return { imageId: img.config.digest, manifestDigest: manifestDigest ?? img.manifest.digest, names, steps: env.steps, warnings: graph.warnings, exported };
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    await closeCacheSources(cacheSources);
    await env.http.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
