import type { CommandLine, EntrypointInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { RuntimeConfig } from "../image/image-state.js";
import { addHistory } from "../step/history.js";
import { goList } from "../step/history.js";
import { argv } from "./cmd.js";

/**
 * ENTRYPOINT's config change: the entrypoint as argv, and an inherited CMD cleared unless `cmdSet`
 * (a CMD earlier in the same stage, or the same `-c` list, keeps its command); returns the argv.
 */
export function setEntrypoint(config: RuntimeConfig, c: CommandLine | undefined, cmdSet: boolean): string[] {
  const args = argv(config, c);
  config.Entrypoint = c ? args : null;
  // an absent CMD stays absent (the image config leaves out empty fields either way)
  if (!cmdSet && config.Cmd !== undefined) config.Cmd = null;
  return args;
}

export const entrypoint: InstructionHandler<EntrypointInstruction, "clock"> = async (e, st, i) => {
  const args = setEntrypoint(st.image.config, i.cmd, st.cmdSet === true);
  if (i.cmd?.form === "shell") st.image.config.ArgsEscaped = true;
  addHistory(e.clock, st, `ENTRYPOINT ${goList(args)}`, true);
};
