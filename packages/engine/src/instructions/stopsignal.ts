import type { StopsignalInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { RuntimeConfig } from "../image/image-state.js";
import { addHistory } from "../step/history.js";

/** STOPSIGNAL's config change: the signal, as written. */
export function setStopSignal(config: RuntimeConfig, signal: string): void {
  config.StopSignal = signal;
}

export const stopsignal: InstructionHandler<StopsignalInstruction, "clock"> = async (e, st, i) => {
  setStopSignal(st.image.config, i.signal);
  addHistory(e.clock, st, `STOPSIGNAL ${i.signal}`, true);
};
