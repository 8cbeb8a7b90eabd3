import type { LabelInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../step/history.js";

export const label: InstructionHandler<LabelInstruction, "clock"> = async (e, st, i) => {
  // the stage owns its config (a base's is cloned into it): changed in place, not copied per LABEL,
  // which made a Dockerfile of n LABELs cost n² (6,000 LABELs: 5.7 s of copying)
  const labels = st.image.config.Labels ?? {};
  for (const p of i.pairs) labels[p.key] = p.value;
  st.image.config.Labels = labels;
  addHistory(e.clock, st, `LABEL ${i.pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`, true);
};
