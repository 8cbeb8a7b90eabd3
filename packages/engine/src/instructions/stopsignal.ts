import type { StopsignalInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../step/history.js";

export const stopsignal: InstructionHandler<StopsignalInstruction, "clock"> = async (e, st, i) => {
  st.image.config.StopSignal = i.signal;
  addHistory(e.clock, st, `STOPSIGNAL ${i.signal}`, true);
};
