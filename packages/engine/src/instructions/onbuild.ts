import type { OnbuildInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";

/** ONBUILD stores its trigger in the config (BuildKit adds no history entry for it). */
export const onbuild: InstructionHandler<OnbuildInstruction> = async (_e, st, i) => {
  st.image.config.OnBuild = [...(st.image.config.OnBuild ?? []), i.expression];
};
