/**
 * build(options): the library API. Reads the Dockerfile and context, solves the graph, writes the
 * image into the store and the outputs asked for, and reports typed events. The CLI is one
 * consumer of it.
 */
import { readFile, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { cpus } from "node:os";
import type { Readable } from "node:stream";
import { formatPlatform, loadDockerfile, type BuildGraph, type PlatformSpec } from "@tsbuild/dockerfile";
import { defaultStoreRoot, Store, writeImage, type Descriptor, type Digest, type ImageConfig, type LayerCompression, type StoreSession } from "@tsbuild/oci";
import { pickSnapshotter } from "@tsbuild/snapshot";
import { ISOLATION_OPTIONS, isolationMode, requireBuildPrivileges, requireRunIsolation, type IsolationOption } from "./rootless.js";
import { checkBuildTools } from "./build-tools.js";
import { ChrootExecutor, RuncExecutor, type NetworkMode } from "@tsbuild/runtime";
import { BuildTransport } from "./remote/build-transport.js";
import { loadContext } from "./context/build-context.js";
import { unpackContextTar } from "./context/tar-context.js";
import type { EventSink } from "./events.js";
import { timed } from "./timing.js";
import { monotonicMs } from "./clock.js";
import type { SolverEnv, StageState, StepRecord } from "./solver/state.js";
import { solve } from "./solver/solver.js";
import { sweepDeadBuilds } from "./prune/dead-builds.js";
import { Semaphore } from "./step/semaphore.js";
import { InFlightSteps } from "./step/in-flight.js";
import { LocalCache } from "./cache/build-cache.js";
import { ContextIndex } from "./context/digest.js";
import { contextIndexPath } from "./context/stat-index.js";
import { ContextListings } from "./context/listing.js";
import { MissExplainer } from "./cache/explain.js";
import { checkOutput, exportImage, type ExportedImage, type OutputSpec } from "./image/export.js";
import { NO_ANNOTATIONS, type Annotation } from "./image/annotations.js";
import { imageTarget } from "./image/image-target.js";
import type { CacheFromSpec, CacheToSpec } from "./cache/io/spec.js";
import { closeCacheSources, exportCaches, inlineCache, openCacheSources, type CacheIo } from "./cache/io/share.js";
import { ImportingCache } from "./cache/io/importing-cache.js";
import type { CacheSource } from "./cache/io/source.js";
import { allowedEntitlements, type Entitlement } from "./instructions/entitlements.js";
import { namedContexts, withReplacedStages, type NamedContextSpec } from "./context/named-contexts.js";
import { NamedContextSources } from "./context/named-context-source.js";
import { NO_SSH_AGENTS, openSshAgents, type SshSpec } from "./ssh/ssh-agents.js";

export interface BuildOptions {
  /**
   * the build context: a directory, or a tar stream of one (plain, gzip or zstd, as
   * `docker build -` reads standard input), unpacked into the store's scratch space for the build
   */
  context: string | Readable;
  /**
   * named contexts (buildx's --build-context NAME=VALUE): each stands in for the stage of its name
   * and for the image of its name (FROM, COPY --from, RUN --mount from=). A value is a directory
   * (relative ones against the process's working directory), `docker-image://REF`,
   * `oci-layout://PATH[:TAG][@DIGEST]`, a git URL or an http(s) URL (see parseContextValue), or
   * already typed
   */
  buildContexts?: Record<string, string | NamedContextSpec>;
  /** the Dockerfile path (default CONTEXT/Dockerfile) */
  dockerfile?: string;
  /** the Dockerfile text (instead of reading `dockerfile`) */
  dockerfileText?: string;
  tags?: string[];
  buildArgs?: Record<string, string> | Map<string, string>;
  target?: string;
  platform?: PlatformSpec;
  /**
   * several target platforms (buildx's --platform a,b): each is built, all at once in this store
   * (equal steps run once), and the result is one OCI image index of their manifests (`platform` is ignored)
   */
  platforms?: PlatformSpec[];
  labels?: Record<string, string>;
  /** the network RUNs have (default: the host's, as tsbuild has no network of its own); "host" grants network.host */
  network?: NetworkMode;
  /** --secret values by id (what RUN --mount=type=secret reads) */
  secrets?: Map<string, Buffer>;
  /**
   * ssh agents RUN --mount=type=ssh forwards (buildx's --ssh; parseSshSpec reads one): an agent
   * socket, or private key files served by an ssh-agent of the build's own; no path is
   * $SSH_AUTH_SOCK. Checked before any step runs (SshSpecError)
   */
  ssh?: SshSpec[];
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
  /**
   * how RUN steps are isolated: auto (the default: runc containers, as root or rootless with the
   * best the kernel allows) or chroot (no namespaces: for root in a pod that can make none; weaker,
   * opt-in only, never chosen by tsbuild; runtime chroot-executor.ts)
   */
  isolation?: IsolationOption;
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
  /** the named contexts the build used, as resolved: `what` (`context NAME=VALUE`) and what cache keys depend on (`image:ID`, `oci-layout:MANIFEST`, `context:DIGEST`) */
  contexts: { name: string; what: string; identity: string }[];
  warnings: string[];
  exported: string[];
  /** with several platforms: each one's image id and manifest (imageId above is the first's) */
  platforms?: { platform: string; imageId: Digest; manifestDigest: Digest }[];
}

export async function build(opts: BuildOptions): Promise<BuildResult> {
  // as another user, only inside a user namespace (rootless.ts: NeedsUserNamespaceError says how)
  if (opts.isolation !== undefined && !ISOLATION_OPTIONS.includes(opts.isolation)) throw new BuildInputError(`unknown isolation ${JSON.stringify(opts.isolation)}: one of ${ISOLATION_OPTIONS.join(", ")}`);
  requireBuildPrivileges("build()");
  const { store, session } = await timed(opts.onEvent, "store", async () => {
    const store = await Store.open(opts.root ?? defaultStoreRoot());
    // what killed builds left (containers, mounts, scratch, active snapshots) goes first (dead-builds.ts)
    const swept = await sweepDeadBuilds(store);
    if (swept.failed.length) {
      opts.onEvent?.({ type: "warning", message: `could not remove what an interrupted build left: ${swept.failed.join(", ")} (run tsbuild prune, or remove them by hand)` });
    }
    // registered for the whole build: a concurrent prune keeps what it holds (store-guard.ts)
    return { store, session: await store.startSession("build") };
  });
  let unpacked: string | undefined;
  try {
    const context = typeof opts.context === "string" ? opts.context : (unpacked = await unpackContextTar(store, opts.context, opts.signal));
    return await buildInStore({ ...opts, context }, store, session);
  } finally {
    if (unpacked) await rm(unpacked, { recursive: true, force: true });
    await session.end();
  }
}

/** The build's inputs are missing: the context or its Dockerfile. */
export class BuildInputError extends Error {
  override readonly name = "BuildInputError";
}

/** The Dockerfile's text; a missing context or Dockerfile named as such, not as a bare ENOENT. */
async function readDockerfile(contextDir: string, path: string, given: string | undefined): Promise<string> {
  const ctx = await stat(contextDir).catch(() => undefined);
  if (!ctx) throw new BuildInputError(`the build context ${contextDir} does not exist: give a directory (or - for a tar of one on standard input)`);
  if (!ctx.isDirectory()) throw new BuildInputError(`the build context ${contextDir} is not a directory: give a directory (or - for a tar of one on standard input)`);
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    throw new BuildInputError(given === undefined ? `no Dockerfile in ${contextDir}: add one, or name it with -f FILE` : `the Dockerfile ${path} does not exist`);
  }
}

/** One platform's build, solved and written into the store, before any output. */
interface PlatformBuild {
  graph: BuildGraph;
  image: ExportedImage["images"][number];
  imageId: Digest;
  steps: StepRecord[];
  contexts: BuildResult["contexts"];
}

/**
 * Builds for every platform asked (`platforms`, else `platform`, else this host), all at once in the
 * same store and session (solvePlatforms: a stage whose key does not depend on the target, FROM
 * --platform=$BUILDPLATFORM, runs once and the others take its records), then writes the
 * outputs once: an index of the platforms' manifests where there are several (or with
 * BUILDKIT_MULTI_PLATFORM), and exports the build cache of all of them.
 */
async function buildInStore(opts: BuildOptions & { context: string }, store: Store, session: StoreSession): Promise<BuildResult> {
  const contextDir = resolve(opts.context);
  const dockerfilePath = opts.dockerfile ? resolve(opts.dockerfile) : join(contextDir, "Dockerfile");
  const emit: EventSink = opts.onEvent ?? (() => undefined);
  const fileLabel = opts.dockerfileText !== undefined ? "Dockerfile" : (opts.dockerfile ?? "Dockerfile");
  const contexts = namedContexts(opts.buildContexts, process.cwd());
  const asked = opts.platforms?.length ? opts.platforms : [opts.platform];
  const graphs = await timed(opts.onEvent, "parse", async () => {
    const text = opts.dockerfileText ?? (await readDockerfile(contextDir, dockerfilePath, opts.dockerfile));
    return asked.map((platform) => withReplacedStages(loadDockerfile(text, fileLabel, {
      ...(opts.buildArgs ? { buildArgs: opts.buildArgs } : {}),
      ...(opts.target ? { target: opts.target } : {}),
      ...(platform ? { platform } : {}),
    }), contexts));
  });
  const first = graphs[0] as BuildGraph;
  const seen = new Set<string>();
  for (const g of graphs) {
    const name = formatPlatform(g.targetPlatform);
    if (seen.has(name)) throw new BuildInputError(`--platform names ${name} twice`);
    seen.add(name);
  }
  for (const w of first.warnings) emit({ type: "warning", message: w });
  const outputs = opts.outputs ?? [{ type: "image" as const }];
  const plan = { annotations: opts.annotations ?? [], platforms: graphs.map((g) => g.targetPlatform), multiPlatform: graphs.length > 1 || first.builderArgs.multiPlatform };
  // what an output cannot carry fails the build before any step runs
  for (const out of outputs) checkOutput(out, plan);
  // BUILDKIT_INLINE_CACHE=1 is --cache-to type=inline, as buildx reads it
  const cacheTo = [...(opts.cacheTo ?? [])];
  if (first.builderArgs.inlineCache && !cacheTo.some((c) => c.type === "inline")) cacheTo.push({ type: "inline" });
  const registry = registryOptions(opts);
  // the isolation and snapshotter are told once, by the first platform's solve
  let isolationTold = false;
  const solveEmit: EventSink = (e) => {
    if (e.type === "isolation" && isolationTold) return;
    if (e.type === "isolation") isolationTold = true;
    emit(e);
  };
  const built = await solvePlatforms(opts, store, session, graphs, contextDir, dockerfilePath, cacheTo, contexts, solveEmit);
  const exportStart = monotonicMs();
  const scratch = await store.tmpDir("export-");
  try {
    const names = opts.tags ?? [];
    const exported: string[] = [];
    const image: ExportedImage = {
      images: built.map((b) => b.image), multiPlatform: plan.multiPlatform, annotations: plan.annotations,
      ...(opts.sourceDateEpoch !== undefined ? { epoch: opts.sourceDateEpoch } : {}),
    };
    let manifestDigest: Digest | undefined;
    for (const out of outputs) {
      const { what, target } = await exportImage(store, out, image, names, scratch, registry, opts.compression ?? "gzip");
      if (out.type === "image" && target && manifestDigest === undefined) manifestDigest = target.digest;
      exported.push(what);
      emit({ type: "exported", what });
    }
    const cacheIo: CacheIo = { store, registry, platform: first.targetPlatform, emit };
    for (const what of await exportCaches(cacheTo, cacheIo, { graph: first, steps: built.flatMap((b) => b.steps) })) {
      exported.push(what);
      emit({ type: "exported", what });
    }
    const one = built[0] as PlatformBuild;
    emit({ type: "timing", phase: "export", ms: Math.round((monotonicMs() - exportStart) * 10) / 10 });
    return {
      imageId: one.imageId, manifestDigest: manifestDigest ?? (built.length > 1 ? (await indexOf(store, image)).digest : one.image.manifest.digest),
      names, steps: built.flatMap((b) => b.steps), contexts: one.contexts, warnings: first.warnings, exported,
      ...(built.length > 1 ? { platforms: built.map((b) => ({ platform: formatPlatform(b.image.platform), imageId: b.imageId, manifestDigest: b.image.manifest.digest })) } : {}),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** What the platforms of one build share: limits, steps in flight, pulls, step ids, the context's index. */
interface PlatformsShared {
  /** one step id sequence for the whole build (events of several platforms never share an id) */
  nextStepId(): number;
  inflight: InFlightSteps;
  pulls: SolverEnv["pulls"];
  limiter: Semaphore;
  runLimiter: Semaphore;
  listings: ContextListings;
  contextIndex: ContextIndex;
  /** aborted when the build's signal is, or when one platform fails (the others stop) */
  signal: AbortSignal;
}

/**
 * Solves every platform at once (as independent stages run), sharing the build's limits and its
 * steps in flight: a stage whose key does not depend on the target (FROM --platform=$BUILDPLATFORM)
 * runs once and the other platforms take its records. The first failure stops the others and is the
 * build's error.
 */
async function solvePlatforms(
  opts: BuildOptions & { context: string }, store: Store, session: StoreSession, graphs: BuildGraph[], contextDir: string, dockerfilePath: string,
  cacheTo: CacheToSpec[], contexts: ReturnType<typeof namedContexts>, emit: EventSink,
): Promise<PlatformBuild[]> {
  const stop = new AbortController();
  const onAbort = () => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) stop.abort(opts.signal.reason);
  let stepId = 0;
  const listings = new ContextListings(join(store.root, "cache", "listings"));
  const shared: PlatformsShared = {
    nextStepId: () => ++stepId,
    inflight: new InFlightSteps(),
    pulls: new Map(),
    limiter: new Semaphore(Math.max(1, cpus().length)),
    runLimiter: new Semaphore(opts.maxParallelRuns !== undefined ? Math.max(1, Math.floor(opts.maxParallelRuns)) : Infinity),
    listings,
    contextIndex: new ContextIndex(contextIndexPath(store.root, contextDir), listings),
    signal: stop.signal,
  };
  await timed(opts.onEvent, "context", () => shared.contextIndex.load());
  let first: { error: unknown } | undefined;
  try {
    const runs = graphs.map((graph) => solvePlatform(opts, store, session, graph, contextDir, dockerfilePath, cacheTo, contexts, emit, shared, graphs.length > 1 ? formatPlatform(graph.targetPlatform) : undefined)
      .catch((error: unknown) => {
        first ??= { error };
        stop.abort();
        throw error;
      }));
    const settled = await Promise.allSettled(runs);
    if (first) throw (first as { error: unknown }).error;
    return settled.map((r) => (r as PromiseFulfilledResult<PlatformBuild>).value);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
    await shared.contextIndex.save();
  }
}

/** How the build's registry clients (base pulls, pushes, caches) reach registries. */
const registryOptions = (opts: BuildOptions) => ({ insecureRegistries: opts.insecureRegistries ?? [] });

/** The index a multi-platform result is, when no image output named it. */
async function indexOf(store: Store, image: ExportedImage): Promise<Descriptor> {
  return imageTarget(store, image, image.images.map((i) => i.manifest), image.images.map(() => NO_ANNOTATIONS), false);
}

async function solvePlatform(
  opts: BuildOptions & { context: string }, store: Store, session: StoreSession, graph: BuildGraph, contextDir: string, dockerfilePath: string,
  cacheTo: CacheToSpec[], contexts: ReturnType<typeof namedContexts>, emit: EventSink, shared: PlatformsShared, platformLabel: string | undefined,
): Promise<PlatformBuild> {
  const choice = await pickSnapshotter(join(store.root, "snapshots"), opts.snapshotter ?? "auto");
  const snapshotter = choice.snapshotter;
  const iso = isolationMode(opts.isolation);
  emit({
    type: "isolation", rootless: iso.rootless, isolation: iso.kind, snapshotter: snapshotter.kind, why: choice.why,
    ...(iso.idMapping ? { idMapping: iso.idMapping } : {}), ...(iso.processSandbox ? { processSandbox: iso.processSandbox } : {}),
  });
  // RUN steps that cannot be isolated here, and a missing system tool, fail here, before anything is made
  if (graph.stages.some((s) => s.instructions.some((i) => i.kind === "run"))) requireRunIsolation(opts.isolation ?? "auto");
  checkBuildTools(graph, snapshotter, iso.kind === "chroot" ? "chroot" : "runc");
  const scratch = await store.tmpDir("build-");
  const controller = new AbortController();
  const onAbort = () => controller.abort(shared.signal.reason);
  shared.signal.addEventListener("abort", onAbort, { once: true });
  if (shared.signal.aborted) controller.abort();
  const { listings } = shared;
  let named: NamedContextSources;
  try {
    // a git context may need the build's secrets and its --ssh agent (opened below, before any step asks)
    named = await NamedContextSources.open(contexts, store, listings, scratch, controller.signal, emit, { secrets: opts.secrets ?? new Map(), sshAuthSock: () => env.ssh.socket("default"), transport: () => env.http.get() });
  } catch (e) {
    shared.signal.removeEventListener("abort", onAbort);
    await rm(scratch, { recursive: true, force: true });
    throw e;
  }
  const env: SolverEnv = {
    store,
    snapshotter,
    executor: iso.kind === "chroot" ? new ChrootExecutor() : new RuncExecutor({ stateDir: join(store.root, "runc"), scratch: join(scratch, "run"), cacheRoot: join(store.root, "cache", "mounts") }),
    context: await timed(opts.onEvent, "context", () => loadContext(contextDir, opts.dockerfile ? dockerfilePath : undefined)),
    graph,
    emit,
    signal: controller.signal,
    network: opts.network ?? "default",
    registry: registryOptions(opts),
    // ADD's downloads (made on first use: registry and undici load only when needed)
    http: new BuildTransport(),
    ...(opts.sourceDateEpoch !== undefined ? { epoch: opts.sourceDateEpoch } : {}),
    secrets: opts.secrets ?? new Map(),
    ssh: NO_SSH_AGENTS,
    allow: allowedEntitlements(opts.allow ?? [], opts.network ?? "default"),
    steps: [],
    nextStepId: shared.nextStepId,
    inflight: shared.inflight,
    pulls: shared.pulls,
    ...(platformLabel ? { platformLabel } : {}),
    stages: new Map(),
    scratch,
    limiter: shared.limiter,
    runLimiter: shared.runLimiter,
    cache: new LocalCache(store),
    noCache: opts.noCache ?? false,
    noCacheStages: new Set((opts.noCacheFilter ?? []).map((s) => s.toLowerCase())),
    contextIndex: shared.contextIndex,
    namedContexts: named,
    listings,
    missed: new Map(),
    pendingWrites: [],
    pull: opts.pull ?? false,
    session,
  };
  if (opts.explain) env.explainer = new MissExplainer(env.cache, listings);
  const cacheIo: CacheIo = { store, registry: env.registry, platform: graph.targetPlatform, emit };
  let cacheSources: CacheSource[] = [];
  try {
    if (opts.ssh?.length) env.ssh = await openSshAgents(opts.ssh);
    cacheSources = await openCacheSources(opts.cacheFrom ?? [], cacheIo);
    if (cacheSources.length) env.cache = new ImportingCache(store, cacheSources, (message) => emit({ type: "warning", message }));
    let final: StageState;
    try {
      final = await solve(env);
      await Promise.all(env.pendingWrites);
    } catch (e) {
      controller.abort();
      // build() returns with nothing left writing into the store (records, blobs, named contexts' indexes; the context's: solvePlatforms)
      await Promise.allSettled([...env.pendingWrites, named.save()]);
      throw e;
    }
    await named.save();
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
    const img = await timed(opts.onEvent, "export", () => writeImage(store.content, config, final.layers));
    return {
      graph, image: { manifest: img.manifest, layers: final.layers, platform: graph.targetPlatform }, imageId: img.config.digest, steps: env.steps,
      contexts: [...named.report].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    };
  } finally {
    shared.signal.removeEventListener("abort", onAbort);
    await closeCacheSources(cacheSources);
    await env.ssh.close();
    await env.http.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
