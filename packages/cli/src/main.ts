import { commands } from "./commands/index.js";
import type { CommandIO } from "./command.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "./command.js";
import { UsageError } from "./args.js";

export type { Command, CommandIO } from "./command.js";

const DEFAULT_COMMAND = "build";

function defaultIO(): CommandIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // process.stdin makes its stream on first use (3-4 ms, a socket for a pipe): only commands that read it pay
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

async function help(io: CommandIO): Promise<void> {
  const lines = ["usage: tsbuild [build] [OPTIONS] CONTEXT", "       tsbuild COMMAND [OPTIONS]", "", "commands:"];
  for (const load of Object.values(commands)) {
    const c = await load();
    lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  }
  io.stdout.write(lines.join("\n") + "\n");
}

/** The command `main(argv)` runs: the first word when it names one, else build (undefined: help). */
export function commandName(argv: readonly string[]): string | undefined {
  const first = argv[0];
  if (first === undefined || first === "--help" || first === "-h" || first === "help") return undefined;
  return Object.hasOwn(commands, first) ? first : DEFAULT_COMMAND;
}

/** Entry point of the `tsbuild` command; resolves to the exit code. */
export async function main(argv: readonly string[], io: CommandIO = defaultIO()): Promise<number> {
  const [first, ...rest] = argv;
  const name = commandName(argv);
  if (name === undefined) {
    await help(io);
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = await commands[name]!();
  const args = name === first ? rest : argv;
  try {
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`tsbuild ${command.name}: ${err.message}\nusage: ${command.usage}\n`);
      return EXIT_USAGE;
    }
    // Every failure is reported as one line; the stack only with TSBUILD_DEBUG=1.
    const e = err instanceof Error ? err : new Error(String(err));
    io.stderr.write(`tsbuild ${command.name}: ${e.message}\n`);
    if (io.env.TSBUILD_DEBUG) io.stderr.write(`${e.stack ?? ""}\n`);
    return EXIT_FAILED;
  }
}
