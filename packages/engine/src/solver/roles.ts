/**
 * The roles an instruction handler is given. Each handler names the few it uses in its type
 * (`InstructionHandler<I, "steps" | "context">`), so its signature says what it may touch; the
 * solver makes them once per build from the build's state (handlerRoles) and no handler sees that
 * state whole.
 */
import type { SshAgents } from "../ssh/ssh-agents.js";
import type { BuildGraph } from "@tsbuild/dockerfile";
import type { Executor, NetworkMode } from "@tsbuild/runtime";
import type { IgnoreMatcher } from "../context/dockerignore.js";
import type { EventSink } from "../events.js";
import type { FsStepResult, Shortcut } from "../step/fs-step.js";
import type { BuildClock } from "../step/history.js";
import type { IncrementalCopy } from "../copy/incremental-copy.js";
import type { CopySelection } from "../copy/copy-units.js";
import type { StageState } from "./state.js";
import type { StepInputs } from "../step/step-cache.js";
import type { Entitlement } from "../instructions/entitlements.js";
import type { DownloadRole } from "../remote/add-urls.js";

/** A step that changes the file system: cache lookup, snapshot, change, diff, store, commit (fs-step.ts). */
export interface StepRunner {
  /**
   * Runs `change` on a writable snapshot of the stage's root unless the cache has the step, and
   * moves the stage on (layer, snapshot, history, key). `inputs` undefined: never cached.
   * @param bound "containers" for a RUN (not bounded by cores), else tsbuild's own file work
   * @param unchanged on a miss, whether the change would certainly write nothing (a WORKDIR whose
   *   directory is there: `hasDirectory`); then no snapshot is made, as for an empty diff
   */
  change(
    st: StageState, createdBy: string, change: (root: string) => Promise<void>, inputs?: StepInputs, shortcut?: Shortcut, bound?: "files" | "containers",
    unchanged?: () => Promise<boolean>,
  ): Promise<FsStepResult>;
  /**
   * Whether the stage's root certainly has a directory at `path` (absolute), reached through real
   * directories, looked up without mounting (the snapshotter's `lookup`); false when not or unsure.
   */
  hasDirectory(st: StageState, path: string): Promise<boolean>;
  /**
   * A --link step (link-step.ts): `change` runs on an empty root unless the cache has the step under
   * a key that leaves the steps before it out; its layer is then applied to the stage's root.
   */
  linked(st: StageState, createdBy: string, change: (root: string) => Promise<void>, inputs?: StepInputs): Promise<FsStepResult>;
  /** The shortcut that redoes a COPY of one context directory from its previous result (incremental-copy.ts). */
  incrementalCopy(st: StageState, createdBy: string, inputs: StepInputs & { source: string }, plan: IncrementalCopy): Shortcut;
}

/** The build context: its directory, its .dockerignore, and the digest of what a step selects from it. */
export interface ContextService {
  readonly dir: string;
  readonly ignore: IgnoreMatcher;
  /** The content digest of the files `sources` select (names, modes, owners, contents; context-digest.ts), with --parents/--exclude applied. */
  digest(sources: string[], selection?: CopySelection): Promise<string>;
}

/** What COPY --from and RUN --mount from= read: an earlier stage, a named context or an image. */
export interface StageSources {
  /**
   * What `from` names for stage `st`: an earlier stage (by name, or by index unless `byIndex` is
   * false: RUN --mount from= names stages by name only), a named context (--build-context) or an
   * image, as `identity` (`stage:KEY`, `image:CONFIG-DIGEST`, `context:DIGEST`: what a cache
   * key depends on) and the committed snapshot of its root (undefined: empty). An image is pulled
   * and unpacked as FROM would; a directory context is made a snapshot once per build.
   */
  resolve(st: StageState, from: string, opts?: { byIndex: boolean }): Promise<{ identity: string; snapshot: string | undefined }>;
  /**
   * The directory named context `from` stands for (unless it names an earlier stage), to be read
   * like the main context: through its own .dockerignore, keyed by the digest of what is selected.
   * Undefined for anything else.
   */
  local(st: StageState, from: string, opts?: { byIndex: boolean }): Promise<(ContextService & { name: string }) | undefined>;
  /**
   * A view of `snapshot`'s root (an empty directory for undefined): read-only, or a throwaway
   * writable copy; `release()` removes it.
   */
  view(snapshot: string | undefined, writable: boolean): Promise<{ root: string; release(): Promise<void> }>;
  /** A new directory in the build's scratch space (removed with the build at the latest). */
  scratchDir(prefix: string): Promise<string>;
}

/** What a RUN needs beyond its step: the container runtime and the build's run settings. */
export interface Containers {
  readonly executor: Executor;
  /** --network, for RUNs without --network */
  readonly network: NetworkMode;
  /** --secret values by id */
  readonly secrets: ReadonlyMap<string, Buffer>;
  /** --ssh agents by id */
  readonly ssh: SshAgents;
  /** what the build allows (--allow; network.host with --network host) */
  readonly allow: ReadonlySet<Entitlement>;
  /** aborted when the build is stopped */
  readonly signal: AbortSignal;
  /** step output goes out as events */
  readonly emit: EventSink;
}

export interface HandlerRoles {
  /** the Dockerfile as lowered: its file name (for errors), stages, target platform */
  graph: BuildGraph;
  /** history times */
  clock: BuildClock;
  steps: StepRunner;
  context: ContextService;
  sources: StageSources;
  containers: Containers;
  /** what ADD's http(s) sources are fetched with (remote/add-urls.ts) */
  downloads: DownloadRole;
}
