/** What every instruction handler works with. */
import type { SshAgents } from "../ssh/ssh-agents.js";
import type { BuildGraph, PlatformSpec, Stage, StageArgScope } from "@tsbuild/dockerfile";
import type { Descriptor, Store, StoredLayer, StoreSession } from "@tsbuild/oci";
import type { Snapshotter } from "@tsbuild/snapshot";
import type { Executor, NetworkMode } from "@tsbuild/runtime";
import type { ClientOptions } from "@tsbuild/registry";
import type { BuildTransport } from "../remote/build-transport.js";
import type { BuildContext } from "../context/build-context.js";
import type { EventSink } from "../events.js";
import type { ImageState } from "../image/image-state.js";
import type { Semaphore } from "../step/semaphore.js";
import type { BuildCache } from "../cache/build-cache.js";
import type { ContextIndex } from "../context/digest.js";
import type { MissExplainer } from "../cache/explain.js";
import type { ContextListings } from "../context/listing.js";
import type { Entitlement } from "../instructions/entitlements.js";
import type { NamedContextSources } from "../context/named-context-source.js";
import type { InFlightSteps, StepClaim } from "../step/in-flight.js";

export interface StepRecord {
  stage: string;
  /** the platform the step was built for, in a multi-platform build (linux/arm64) */
  platform?: string;
  instruction: string;
  position: string;
  /** the key of the step's cache record (a --link step's leaves the steps before it out; the stage's key after it is another, link-step.ts) */
  cacheKey: string;
  cached: boolean;
  durationMs: number;
  /** with --explain, for a step that missed the cache: which input changed */
  explain?: string;
}

export interface SolverEnv {
  store: Store;
  snapshotter: Snapshotter;
  executor: Executor;
  context: BuildContext;
  graph: BuildGraph;
  emit: EventSink;
  signal: AbortSignal;
  network: NetworkMode;
  registry: ClientOptions;
  /** the build's HTTP transport for ADD's downloads (system CAs, the environment's proxies); closed when the build ends */
  http: BuildTransport;
  /** SOURCE_DATE_EPOCH, seconds */
  epoch?: number;
  secrets: Map<string, Buffer>;
  /** --ssh agents by id (ssh/ssh-agents.ts) */
  ssh: SshAgents;
  /** the entitlements the build has (instructions/entitlements.ts) */
  allow: ReadonlySet<Entitlement>;
  steps: StepRecord[];
  nextStepId(): number;
  /** in a multi-platform build, this env's platform (linux/arm64): progress shows it before the stage, as BuildKit */
  platformLabel?: string;
  /** steps running now, by key, shared by every platform of the build: equal steps run once (step/in-flight.ts) */
  inflight: InFlightSteps;
  /** base image pulls of the build, by name and platform, shared by every platform (image/base-image.ts) */
  pulls: Map<string, Promise<Descriptor>>;
  /** the final state of stages built so far */
  stages: Map<number, Promise<StageState>>;
  /** scratch dir for this build (removed at the end) */
  scratch: string;
  /** bounds tsbuild's own file work running at once (COPY/ADD file ops, diffs, tars, hashing) to the number of cores */
  limiter: Semaphore;
  /** bounds the RUN containers running at once: unbounded unless BuildOptions.maxParallelRuns (as BuildKit) */
  runLimiter: Semaphore;
  /** the local build cache; lookups are skipped for stages in `noCacheStages` (all with --no-cache) */
  cache: BuildCache;
  noCache: boolean;
  noCacheStages: Set<string>;
  contextIndex: ContextIndex;
  /** the named contexts (--build-context), resolved on first use */
  namedContexts: NamedContextSources;
  /** what each COPY/ADD selected from the context, by content digest */
  listings: ContextListings;
  /** set with --explain */
  explainer?: MissExplainer;
  /** keys of the steps that missed in this build → where they are (for explaining what follows them) */
  missed: Map<string, { position: string; instruction: string }>;
  /** writes steps left running (a patched layer's write and fsync, then its cache record): awaited before the image is written */
  pendingWrites: Promise<void>[];
  /** --pull: ask the registry for the base images' current digests even when they are in the store */
  pull: boolean;
  /** this build's registration in the store: what it holds is safe from a concurrent prune (store-guard.ts) */
  session?: StoreSession;
}

export interface StageState {
  stage: Stage;
  /** the platform the stage is built for: its FROM --platform, else its base stage's, else the build's target */
  platform: PlatformSpec;
  image: ImageState;
  layers: StoredLayer[];
  /** committed snapshot of the current root file system (undefined = empty) */
  snapshot: string | undefined;
  args: StageArgScope;
  /** the id of the step running now (for events) */
  stepId: number;
  /** CMD was set in this stage (ENTRYPOINT then keeps it) */
  cmdSet?: boolean;
  /** the created time of the last step that made a layer (history times derive from it) */
  lastCreated?: string;
  /** cache key of the last step */
  key: string;
  /** what the stage started from, as cache records keep it: `image NAME@DIGEST`, `scratch`, `stage NAME` */
  base: string;
  /** the step running now */
  current?: { instruction: string; position: string };
  /** the in-flight claim on the step running now (step/in-flight.ts), settled by its record, and its key */
  claim?: StepClaim;
  claimKey?: string;
}
