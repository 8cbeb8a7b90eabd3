import type { EnvInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { setEnv } from "../image/image-state.js";
import { addHistory } from "../step/history.js";

export const env: InstructionHandler<EnvInstruction, "clock"> = async (e, st, i) => {
  for (const p of i.pairs) setEnv(st.image.config, p.key, p.value);
  addHistory(e.clock, st, `ENV ${i.pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`, true);
};
