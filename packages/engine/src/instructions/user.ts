import type { UserInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../fs-step.js";

export const user: InstructionHandler<UserInstruction> = async (e, st, i) => {
  st.image.config.User = i.user;
  addHistory(e, st, `USER ${i.user}`, true);
};
