/**
 * The role a RUN step needs from a container runtime: run one process in a prepared root file
 * system, with the step's mounts, network, user and environment, streaming its output, and stop
 * it when asked. RuncExecutor (container.ts) is the implementation; the engine sees only this.
 */
import type { NetworkMode, SecurityMode } from "./spec.js";
import type { RunMount } from "./run-mounts.js";

export interface RunRequest {
  /** the container's root file system (a prepared snapshot) */
  rootfs: string;
  args: string[];
  env?: string[];
  cwd?: string;
  /** USER as written in the Dockerfile, resolved against the root's /etc/passwd and /etc/group */
  user?: string;
  network?: NetworkMode;
  /** default sandbox; insecure runs the process privileged (insecure.ts) */
  security?: SecurityMode;
  /**
   * "unconfined": no masked and read-only /proc and /sys paths (docker run's --security-opt
   * systempaths=unconfined), so a process in the container can mount a procfs of its own, as a
   * nested rootless tsbuild does (the kernel refuses a new procfs where parts of the visible one
   * are covered); default "masked"
   */
  systemPaths?: "masked" | "unconfined";
  mounts?: RunMount[];
  /**
   * secrets in the process environment (RUN --mount=type=secret,env=NAME): set last, over any
   * variable of the same name, and written nowhere but the run's secrets tmpfs
   */
  secretEnv?: { name: string; data: Buffer }[];
  /** the UTS name, also in the generated /etc/hosts (default buildkitsandbox, as BuildKit's) */
  hostname?: string;
  onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  /** aborting kills the process; run() then resolves with killed: "abort" */
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface RunResult {
  /** the process's exit code (128+n when a signal ended it) */
  exitCode: number;
  /** set when the run was ended by timeout or abort */
  killed?: "timeout" | "abort";
}

export interface Executor {
  /**
   * Runs `req.args` in `req.rootfs` and resolves when the process and everything it started are
   * gone, the mounts it needed released and the root left as the process left it (less the mount
   * stubs the runtime itself made). Rejects only when the process could not be run at all (a
   * RuncError, or a mount that could not be prepared); a non-zero exit is a result, not an error.
   */
  run(req: RunRequest): Promise<RunResult>;
}
