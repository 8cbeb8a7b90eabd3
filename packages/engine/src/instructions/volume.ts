import { DockerfileError, type Position, type VolumeInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { RuntimeConfig } from "../image/image-state.js";
import { addHistory } from "../step/history.js";
import { goPlainList } from "../step/history.js";

/**
 * VOLUME's config change: each path (trimmed) becomes a volume; an empty one is a DockerfileError
 * at `file`:`position`. Returns the paths.
 */
export function addVolumes(config: RuntimeConfig, paths: readonly string[], file: string, position: Position): string[] {
  config.Volumes = { ...config.Volumes };
  const trimmed = paths.map((v) => v.trim());
  for (const v of trimmed) {
    if (v === "") throw new DockerfileError("missing-arguments", "VOLUME specified can not be an empty string", file, position);
    config.Volumes[v] = {};
  }
  return trimmed;
}

export const volume: InstructionHandler<VolumeInstruction, "clock" | "graph"> = async (e, st, i) => {
  const paths = addVolumes(st.image.config, i.paths, e.graph.file, i.position);
  addHistory(e.clock, st, `VOLUME ${goPlainList(paths)}`, true);
};
