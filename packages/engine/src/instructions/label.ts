import type { KeyValue, LabelInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { RuntimeConfig } from "../image/image-state.js";
import { addHistory } from "../step/history.js";

/** LABEL's config change: each key set (a later value wins). */
export function addLabels(config: RuntimeConfig, pairs: readonly KeyValue[]): void {
  // the stage owns its config (a base's is cloned into it): changed in place, not copied per LABEL,
  // which made a Dockerfile of n LABELs cost n² (6,000 LABELs: 5.7 s of copying)
  const labels = config.Labels ?? {};
  for (const p of pairs) labels[p.key] = p.value;
  config.Labels = labels;
}

export const label: InstructionHandler<LabelInstruction, "clock"> = async (e, st, i) => {
  addLabels(st.image.config, i.pairs);
  addHistory(e.clock, st, `LABEL ${i.pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`, true);
};
