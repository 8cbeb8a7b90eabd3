import type { ArgInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../step/history.js";

export const arg: InstructionHandler<ArgInstruction, "clock"> = async (e, st, i) => {
  for (const a of i.args) st.args.declare(a);
  addHistory(e.clock, st, `ARG ${i.args.map((a) => (a.value !== undefined ? `${a.key}=${a.value}` : a.key)).join(" ")}`, true);
};
