import type { MaintainerInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../step/history.js";

export const maintainer: InstructionHandler<MaintainerInstruction, "clock"> = async (e, st, i) => {
  st.image.author = i.maintainer;
  addHistory(e.clock, st, `MAINTAINER ${i.maintainer}`, true);
};
