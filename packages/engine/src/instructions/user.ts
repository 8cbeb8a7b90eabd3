import type { UserInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { RuntimeConfig } from "../image/image-state.js";
import { addHistory } from "../fs-step.js";

/** USER's config change: the user (name or id, with an optional :group), as written. */
export function setUser(config: RuntimeConfig, user: string): void {
  config.User = user;
}

export const user: InstructionHandler<UserInstruction> = async (e, st, i) => {
  setUser(st.image.config, i.user);
  addHistory(e, st, `USER ${i.user}`, true);
};
