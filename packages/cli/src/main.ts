import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { commands } from "./commands/index.js";
import type { Command, CommandIO } from "./command.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "./command.js";
import { HelpRequested, UsageError } from "./args.js";
import { commandHelp } from "./help.js";
import { versionText } from "./version.js";
import { runRootless } from "./rootless-entry.js";

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
  lines.push("  version    print tsbuild's version, Node's and the store", "", "Run 'tsbuild COMMAND --help' for a command's options.");
  io.stdout.write(lines.join("\n") + "\n");
}

/** The command `main(argv)` runs: the first word when it names one, else build (undefined: help). */
export function commandName(argv: readonly string[]): string | undefined {
  const first = argv[0];
  if (first === undefined || first === "--help" || first === "-h" || first === "help") return undefined;
  if (first === "version" || first === "--version") return "version";
  return Object.hasOwn(commands, first) ? first : DEFAULT_COMMAND;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j] as number;
      row[j] = Math.min(here + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length] as number;
}

/**
 * A first word (letters, digits, dashes) that is neither a command nor an existing path (a build context) is
 * a mistyped command: say so instead of reading it as a context that does not exist.
 */
function unknownCommand(first: string, io: CommandIO): string | undefined {
  if (!/^[a-z][a-z0-9-]*$/i.test(first) || Object.hasOwn(commands, first) || existsSync(resolve(io.cwd, first))) return undefined;
  const names = [...Object.keys(commands), "version", "help"];
  const near = names.filter((n) => distance(n, first) <= 2).sort((a, b) => distance(a, first) - distance(b, first));
  return `'${first}' is not a tsbuild command, nor a directory to build${near.length ? ` (did you mean ${near.map((n) => `'tsbuild ${n}'`).join(" or ")}?)` : ""}; run 'tsbuild --help' for the commands`;
}

async function commandHelpFor(name: string, io: CommandIO): Promise<number> {
  if (!Object.hasOwn(commands, name)) {
    io.stderr.write(`tsbuild help: no command '${name}'; run 'tsbuild --help' for the commands\n`);
    return EXIT_USAGE;
  }
  io.stdout.write(commandHelp(await commands[name]!()));
  return EXIT_OK;
}

/** Entry point of the `tsbuild` command; resolves to the exit code. */
export async function main(argv: readonly string[], io: CommandIO = defaultIO()): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "--version" || first === "version") {
    if (rest.length) {
      io.stderr.write(`tsbuild version: takes no arguments\n`);
      return EXIT_USAGE;
    }
    io.stdout.write(await versionText(io.env));
    return EXIT_OK;
  }
  if (first === "help" && rest.length) return commandHelpFor(rest[0] as string, io);
  const name = commandName(argv);
  if (name === undefined) {
    await help(io);
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === DEFAULT_COMMAND && first !== DEFAULT_COMMAND) {
    const unknown = unknownCommand(first as string, io);
    if (unknown) {
      io.stderr.write(`tsbuild: ${unknown}\n`);
      return EXIT_USAGE;
    }
  }
  // as a user other than root: again, inside a user namespace (rootless-entry.ts)
  const inNamespace = await runRootless(name, argv, io);
  if (inNamespace !== undefined) return inNamespace;
  const command: Command = await commands[name]!();
  const args = name === first ? rest : argv;
  try {
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.stdout.write(commandHelp(command));
      return EXIT_OK;
    }
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
