import type { MaintainerInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../fs-step.js";

export const maintainer: InstructionHandler<MaintainerInstruction> = async (e, st, i) => {
  st.image.author = i.maintainer;
  addHistory(e, st, `MAINTAINER ${i.maintainer}`, true);
};
