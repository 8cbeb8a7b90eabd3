import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { parseArgs, UsageError, type OptionSpec } from "../args.js";
import { commands } from "./index.js";

const OPTIONS: readonly OptionSpec[] = [];

const flags = (options: readonly OptionSpec[]) => [...options.flatMap((o) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])]), "--help"].join(" ");

/**
 * A bash completion function made from the command table and each command's options (the same
 * definitions the parser reads): commands as the first word, a command's flags after a dash, file
 * names otherwise; a first word that is not a command is a build (the default command). zsh runs it
 * through bashcompinit.
 */
async function bashScript(): Promise<string> {
  const names = Object.keys(commands);
  const cases: string[] = [];
  let buildFlags = "";
  for (const [name, load] of Object.entries(commands)) {
    const c = await load();
    if (name === "build") buildFlags = flags(c.options);
    cases.push(`    ${name}) opts="${flags(c.options)}" ;;`);
  }
  return `# tsbuild completion for bash (source it, or put it in /etc/bash_completion.d/tsbuild)
_tsbuild() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts
  if [ "$COMP_CWORD" -eq 1 ] && [[ "$cur" != -* ]]; then
    COMPREPLY=( $(compgen -W "${names.join(" ")} version help" -- "$cur") $(compgen -d -- "$cur") )
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join("\n")}
    help) COMPREPLY=( $(compgen -W "${names.join(" ")}" -- "$cur") ); return ;;
    *) opts="${buildFlags}" ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -o filenames -F _tsbuild tsbuild
`;
}

export const completionCommand: Command = {
  name: "completion",
  summary: "print a shell completion script (bash or zsh): eval \"$(tsbuild completion bash)\"",
  usage: "tsbuild completion bash|zsh",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const shell = args.positionals[0];
    if (args.positionals.length !== 1 || (shell !== "bash" && shell !== "zsh")) throw new UsageError("name the shell: bash or zsh");
    const script = await bashScript();
    io.stdout.write(shell === "bash" ? script : `# tsbuild completion for zsh: eval "$(tsbuild completion zsh)" in ~/.zshrc\nautoload -U +X bashcompinit && bashcompinit\n${script}`);
    return EXIT_OK;
  },
};
