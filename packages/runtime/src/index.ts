export { RuncExecutor, RuncError, killAll, settleRuns, type ExecutorOptions } from "./container.js";
export type { Executor, RunRequest, RunResult } from "./executor.js";
export { buildSpec, DEFAULT_CAPABILITIES, DEFAULT_PATH, type NetworkMode, type SpecInput } from "./spec.js";
export { resolveUser, UserResolutionError, type ResolvedUser } from "./user.js";
export { prepareRunMounts, type RunMount, type PreparedMounts } from "./run-mounts.js";
export { findStubs, removeStubs, type Stubs } from "./stubs.js";
export { abortOnSignals } from "./signals.js";
export { mountSecretTmpfs, secretTmpfsSize, SecretMountError, type SecretFile, type SecretTmpfs } from "./secret-tmpfs.js";
export { deadContainers, deleteContainer } from "./dead-containers.js";
