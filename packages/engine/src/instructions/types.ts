import type { Instruction } from "@tsbuild/dockerfile";
import type { StageState } from "../solver/state.js";
import type { HandlerRoles } from "../solver/roles.js";

/**
 * One Dockerfile instruction's semantics: change the stage state (config, layers, args), with the
 * roles `R` it names (roles.ts) and nothing else.
 */
export type InstructionHandler<I extends Instruction = Instruction, R extends keyof HandlerRoles = never> = (
  roles: Pick<HandlerRoles, R>,
  st: StageState,
  instr: I,
) => Promise<{ layer?: string; cached?: boolean; key?: string; explain?: string; detail?: string } | void>;
