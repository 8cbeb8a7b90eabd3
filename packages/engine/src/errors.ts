import type { Position } from "@tsbuild/dockerfile";

/** A build step failed: which step, where in the Dockerfile, and the last lines of its output. */
export class BuildError extends Error {
  override readonly name = "BuildError";
  constructor(
    message: string,
    readonly file: string,
    readonly position: Position | undefined,
    readonly instruction: string,
    readonly exitCode?: number,
    readonly outputTail: string[] = [],
  ) {
    super(message);
  }
}

export class NotSupportedError extends Error {
  override readonly name = "NotSupportedError";
}
