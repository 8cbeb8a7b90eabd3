import type { StopsignalInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../fs-step.js";

export const stopsignal: InstructionHandler<StopsignalInstruction> = async (e, st, i) => {
  st.image.config.StopSignal = i.signal;
  addHistory(e, st, `STOPSIGNAL ${i.signal}`, true);
};
