import type { EnvInstruction, KeyValue } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { setEnv, type RuntimeConfig } from "../image/image-state.js";
import { addHistory } from "../step/history.js";

/** ENV's config change: each KEY=VALUE replaces KEY where it is, or is appended. */
export function setEnvPairs(config: RuntimeConfig, pairs: readonly KeyValue[]): void {
  for (const p of pairs) setEnv(config, p.key, p.value);
}

export const env: InstructionHandler<EnvInstruction, "clock"> = async (e, st, i) => {
  setEnvPairs(st.image.config, i.pairs);
  addHistory(e.clock, st, `ENV ${i.pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`, true);
};
