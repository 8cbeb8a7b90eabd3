import type { UserInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../step/history.js";

export const user: InstructionHandler<UserInstruction, "clock"> = async (e, st, i) => {
  st.image.config.User = i.user;
  addHistory(e.clock, st, `USER ${i.user}`, true);
};
