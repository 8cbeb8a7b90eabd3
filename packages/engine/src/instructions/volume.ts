import { DockerfileError, type VolumeInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { addHistory } from "../step/history.js";
import { goPlainList } from "../step/history.js";

export const volume: InstructionHandler<VolumeInstruction, "clock" | "graph"> = async (e, st, i) => {
  st.image.config.Volumes = { ...st.image.config.Volumes };
  const paths = i.paths.map((v) => v.trim());
  for (const v of paths) {
    if (v === "") throw new DockerfileError("missing-arguments", "VOLUME specified can not be an empty string", e.graph.file, i.position);
    st.image.config.Volumes[v] = {};
  }
  addHistory(e.clock, st, `VOLUME ${goPlainList(paths)}`, true);
};
