import type { VolumeInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../fs-step.js";
import { goPlainList } from "../history.js";

export const volume: InstructionHandler<VolumeInstruction> = async (e, st, i) => {
  st.image.config.Volumes = { ...st.image.config.Volumes };
  for (const v of i.paths) st.image.config.Volumes[v] = {};
  addHistory(e, st, `VOLUME ${goPlainList(i.paths)}`, true);
};
