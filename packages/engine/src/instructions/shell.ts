import type { ShellInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../fs-step.js";
import { goPlainList } from "../history.js";

export const shell: InstructionHandler<ShellInstruction> = async (e, st, i) => {
  st.image.config.Shell = i.shell;
  addHistory(e, st, `SHELL ${goPlainList(i.shell)}`, true);
};
