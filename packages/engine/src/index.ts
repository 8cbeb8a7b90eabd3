export { build, type BuildOptions, type BuildResult } from "./build.js";
export type { BuildEvent, EventSink } from "./events.js";
export { BuildError, NotSupportedError } from "./errors.js";
export { parseOutput, OutputError, type OutputSpec } from "./export.js";
export type { StepRecord } from "./build-context-types.js";
export { IgnoreMatcher, parseDockerignore } from "./context/dockerignore.js";
export { goMatch, BadPatternError } from "./fileops/go-match.js";
export { runImage, type RunImageOptions } from "./run-image.js";
