import type { LabelInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../fs-step.js";

export const label: InstructionHandler<LabelInstruction> = async (e, st, i) => {
  st.image.config.Labels = { ...st.image.config.Labels };
  for (const p of i.pairs) st.image.config.Labels[p.key] = p.value;
  addHistory(e, st, `LABEL ${i.pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`, true);
};
