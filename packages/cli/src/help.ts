/**
 * --help text, made from the same option definitions the parser reads (so the two never drift):
 * the usage line, the summary, then every option with its value's name, what it does and its default.
 */
import type { Command } from "./command.js";
import type { OptionSpec } from "./args.js";

function flagText(o: OptionSpec): string {
  const long = `--${o.name}${o.value ? ` ${o.arg ?? "VALUE"}` : ""}`;
  return o.short ? `-${o.short}, ${long}` : `    ${long}`;
}

export function commandHelp(c: Command): string {
  const lines = [`Usage:  ${c.usage}`, "", c.summary.charAt(0).toUpperCase() + c.summary.slice(1), ""];
  const options = [...c.options, { name: "help", short: "h", help: "print this help" } satisfies OptionSpec];
  const flags = options.map(flagText);
  const width = Math.min(34, Math.max(...flags.map((f) => f.length)) + 2);
  lines.push("Options:");
  options.forEach((o, i) => {
    const f = flags[i] as string;
    const text = `${o.help}${o.repeat ? " (repeatable)" : ""}${o.default !== undefined ? ` (default ${o.default})` : ""}`;
    lines.push(f.length + 2 > width ? `  ${f}\n  ${" ".repeat(width)}${text}` : `  ${f.padEnd(width)}${text}`);
  });
  return lines.join("\n") + "\n";
}
