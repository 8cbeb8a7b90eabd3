/** A small, dependency-free option parser with docker-build-like conventions. */

export interface OptionSpec {
  /** long name without dashes, e.g. "tag" */
  name: string;
  /** one-letter alias without dash, e.g. "t" */
  short?: string;
  /** takes a value (`--tag x`, `--tag=x`); otherwise a boolean switch */
  value?: boolean;
  /** may be given more than once; values collected in order */
  repeat?: boolean;
  /** one line for --help: what the option does */
  help: string;
  /** the value's name in --help (`--file FILE`); default VALUE */
  arg?: string;
  /** the default --help shows, where there is one */
  default?: string;
}

/** `--help` or `-h` was given: the caller prints the command's help (help.ts) instead of running it. */
export class HelpRequested extends Error {
  override readonly name = "HelpRequested";
}

export interface ParsedArgs {
  /** option values: string for value options, string[] for repeatable ones, true for switches */
  options: Map<string, string | string[] | true>;
  positionals: string[];
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const options = new Map<string, string | string[] | true>();
  const positionals: string[] = [];

  const set = (spec: OptionSpec, value: string | undefined): void => {
    if (!spec.value) {
      if (value !== undefined) throw new UsageError(`option --${spec.name} takes no value`);
      options.set(spec.name, true);
      return;
    }
    if (value === undefined) throw new UsageError(`option --${spec.name} needs a value`);
    if (spec.repeat) {
      const prev = options.get(spec.name);
      options.set(spec.name, [...(Array.isArray(prev) ? prev : []), value]);
    } else {
      options.set(spec.name, value);
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if ((arg === "--help" && !byLong.has("help")) || (arg === "-h" && !byShort.has("h"))) throw new HelpRequested(arg);
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
      if (eq !== -1) set(spec, arg.slice(eq + 1));
      else if (spec.value) set(spec, takeValue(argv, ++i, `--${name}`));
      else set(spec, undefined);
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      const letter = arg[1] as string;
      const spec = byShort.get(letter);
      if (!spec) throw new UsageError(`unknown option -${letter}`);
      if (spec.value) {
        const rest = arg.slice(2).replace(/^=/, "");
        set(spec, rest !== "" ? rest : takeValue(argv, ++i, `-${letter}`));
      } else {
        if (arg.length > 2) throw new UsageError(`option -${letter} takes no value`);
        set(spec, undefined);
      }
      continue;
    }
    positionals.push(arg);
  }
  return { options, positionals };
}

function takeValue(argv: readonly string[], i: number, flag: string): string {
  const v = argv[i];
  if (v === undefined) throw new UsageError(`option ${flag} needs a value`);
  return v;
}

/** Typed accessors over ParsedArgs. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === "string" ? v : Array.isArray(v) ? v[v.length - 1] : undefined;
}
export function list(args: ParsedArgs, name: string): string[] {
  const v = args.options.get(name);
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}
export function flag(args: ParsedArgs, name: string): boolean {
  return args.options.get(name) === true;
}
