import type { UserInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { RuntimeConfig } from "../image/image-state.js";
import { addHistory } from "../step/history.js";

/** USER's config change: the user (name or id, with an optional :group), as written. */
export function setUser(config: RuntimeConfig, user: string): void {
  config.User = user;
}

export const user: InstructionHandler<UserInstruction, "clock"> = async (e, st, i) => {
  setUser(st.image.config, i.user);
  addHistory(e.clock, st, `USER ${i.user}`, true);
};
