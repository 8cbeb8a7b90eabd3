import type { CmdInstruction, CommandLine } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { RuntimeConfig } from "../image/image-state.js";
import { addHistory } from "../step/history.js";
import { goList } from "../step/history.js";

/** Shell form runs through SHELL (default /bin/sh -c), as BuildKit stores it. */
export function argv(config: RuntimeConfig, c: CommandLine | undefined): string[] {
  if (!c) return [];
  if (c.form === "exec") return c.args;
  return [...(config.Shell ?? ["/bin/sh", "-c"]), c.command];
}

/** CMD's config change: the command line as argv (`CMD` with nothing clears it); returns the argv. */
export function setCmd(config: RuntimeConfig, c: CommandLine | undefined): string[] {
  const args = argv(config, c);
  config.Cmd = c ? args : null;
  return args;
}

export const cmd: InstructionHandler<CmdInstruction, "clock"> = async (e, st, i) => {
  const args = setCmd(st.image.config, i.cmd);
  st.cmdSet = true;
  if (i.cmd?.form === "shell") st.image.config.ArgsEscaped = true;
  addHistory(e.clock, st, `CMD ${goList(args)}`, true);
};
