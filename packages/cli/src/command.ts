import type { Writable } from "node:stream";
import type { OptionSpec } from "./args.js";

/** Where a command writes; tests pass their own streams. */
export interface CommandIO {
  stdout: Writable;
  stderr: Writable;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** One `tsbuild` subcommand. Returns the process exit code (see CLI.md: 0 ok, 1 failed, 2 usage). */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** every option it takes: what it parses with, and what --help lists (help.ts) */
  options: readonly OptionSpec[];
  run(argv: readonly string[], io: CommandIO): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
