/** The option definitions of a command and their parser (Node's util.parseArgs), with docker-build-like conventions. */
import { parseArgs as nodeParseArgs } from "node:util";

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

/**
 * Node's `util.parseArgs` (strict: an unknown option or a missing value is an error) over our
 * option definitions, with docker's conventions it already has: `-t a -t b` and `--tag=a` collected in
 * order, `-fFILE`, `-f -` (a lone dash is a value), `--` ending the options. Its errors become
 * UsageErrors worded for a user. `--help`/`-h` (when a command has no option of that name) stops
 * the parse with HelpRequested, whatever else is on the line.
 */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const end = argv.indexOf("--");
  const own = end === -1 ? argv : argv.slice(0, end);
  const hasLong = new Set(specs.map((s) => s.name));
  const hasShort = new Set(specs.flatMap((s) => (s.short ? [s.short] : [])));
  const help = own.find((a) => (a === "--help" && !hasLong.has("help")) || (a === "-h" && !hasShort.has("h")));
  if (help) throw new HelpRequested(help);
  const config: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const s of specs) config[s.name] = { type: s.value ? "string" : "boolean", ...(s.short ? { short: s.short } : {}), ...(s.repeat ? { multiple: true } : {}) };
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = nodeParseArgs({ args: [...argv], options: config, allowPositionals: true, strict: true });
  } catch (e) {
    throw usageErrorOf(e as Error & { code?: string }, specs);
  }
  const options = new Map<string, string | string[] | true>();
  for (const s of specs) {
    const v = parsed.values[s.name];
    if (v === undefined || v === false) continue;
    if (Array.isArray(v)) options.set(s.name, v.map(String));
    else options.set(s.name, v === true ? true : String(v));
  }
  return { options, positionals: parsed.positionals };
}

/** util.parseArgs's error, said as tsbuild says it. */
function usageErrorOf(e: Error & { code?: string }, specs: readonly OptionSpec[]): Error {
  const named = /Option '(?:-(\w), )?--([\w-]+)|Option '-(\w)'|Option '--([\w-]+)'/.exec(e.message);
  const spec = named ? specs.find((s) => s.name === (named[2] ?? named[4]) || (s.short !== undefined && s.short === (named[1] ?? named[3]))) : undefined;
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const opt = /Unknown option '([^']+)'/.exec(e.message)?.[1] ?? "";
      return new UsageError(`unknown option ${opt}`);
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (spec && /does not take an argument/.test(e.message)) return new UsageError(`option --${spec.name} takes no value`);
      if (spec && /ambiguous/.test(e.message)) return new UsageError(`option --${spec.name} needs a value (write --${spec.name}=-VALUE for one that starts with a dash)`);
      if (spec) return new UsageError(`option --${spec.name} needs a value`);
      return new UsageError(e.message);
    default:
      return e.code?.startsWith("ERR_PARSE_ARGS") ? new UsageError(e.message) : e;
  }
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
