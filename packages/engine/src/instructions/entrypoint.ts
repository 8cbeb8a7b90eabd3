import type { EntrypointInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../step/history.js";
import { goList } from "../step/history.js";
import { argv } from "./cmd.js";

export const entrypoint: InstructionHandler<EntrypointInstruction, "clock"> = async (e, st, i) => {
  const args = argv(st.image.config, i.cmd);
  st.image.config.Entrypoint = i.cmd ? args : null;
  if (i.cmd?.form === "shell") st.image.config.ArgsEscaped = true;
  // ENTRYPOINT clears an inherited CMD (unless the stage sets CMD itself afterwards)
  if (!st.cmdSet) st.image.config.Cmd = null;
  addHistory(e.clock, st, `ENTRYPOINT ${goList(args)}`, true);
};
