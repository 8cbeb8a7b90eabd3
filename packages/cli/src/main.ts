import { commands } from "./commands/index.js";
import type { CommandIO } from "./command.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "./command.js";
import { UsageError } from "./args.js";

export type { Command, CommandIO } from "./command.js";

const DEFAULT_COMMAND = "build";

function defaultIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

async function help(io: CommandIO): Promise<void> {
  const lines = ["usage: tsbuild [build] [OPTIONS] CONTEXT", "       tsbuild COMMAND [OPTIONS]", "", "commands:"];
  for (const load of Object.values(commands)) {
    const c = await load();
    lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  }
  io.stdout.write(lines.join("\n") + "\n");
}

/** Entry point of the `tsbuild` command; resolves to the exit code. */
export async function main(argv: readonly string[], io: CommandIO = defaultIO()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    await help(io);
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const loader = commands[first];
  const name = loader ? first : DEFAULT_COMMAND;
  const args = loader ? rest : argv;
  const load = commands[name];
  if (!load) {
    io.stderr.write(`tsbuild: unknown command "${first}" (see tsbuild --help)\n`);
    return EXIT_USAGE;
  }
  const command = await load();
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
