import type { ShellInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../step/history.js";
import { goPlainList } from "../step/history.js";

export const shell: InstructionHandler<ShellInstruction, "clock"> = async (e, st, i) => {
  st.image.config.Shell = i.shell;
  addHistory(e.clock, st, `SHELL ${goPlainList(i.shell)}`, true);
};
