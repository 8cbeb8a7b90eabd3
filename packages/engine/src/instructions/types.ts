import type { Instruction } from "@tsbuild/dockerfile";
import type { SolverEnv, StageState } from "../build-context-types.js";

/** One Dockerfile instruction's semantics: change the stage state (config, layers, args). */
export type InstructionHandler<I extends Instruction = Instruction> = (
  env: SolverEnv,
  st: StageState,
  instr: I,
) => Promise<{ layer?: string; cached?: boolean; key?: string; explain?: string; detail?: string } | void>;
