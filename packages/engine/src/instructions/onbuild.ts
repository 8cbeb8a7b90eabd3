import type { OnbuildInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { RuntimeConfig } from "../image/image-state.js";

/** ONBUILD's config change: the trigger's text is appended to the triggers. */
export function addOnbuild(config: RuntimeConfig, expression: string): void {
  config.OnBuild = [...(config.OnBuild ?? []), expression];
}

/** ONBUILD stores its trigger in the config (BuildKit adds no history entry for it). */
export const onbuild: InstructionHandler<OnbuildInstruction> = async (_e, st, i) => {
  addOnbuild(st.image.config, i.expression);
};
