/** The instruction table: one file per Dockerfile instruction. */
import type { Expanded, Instruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { HandlerRoles } from "../solver/roles.js";
import { add } from "./add.js";
import { arg } from "./arg.js";
import { cmd } from "./cmd.js";
import { copy } from "./copy.js";
import { entrypoint } from "./entrypoint.js";
import { env } from "./env.js";
import { expose } from "./expose.js";
import { healthcheck } from "./healthcheck.js";
import { label } from "./label.js";
import { maintainer } from "./maintainer.js";
import { onbuild } from "./onbuild.js";
import { run } from "./run.js";
import { shell } from "./shell.js";
import { stopsignal } from "./stopsignal.js";
import { user } from "./user.js";
import { volume } from "./volume.js";
import { workdir } from "./workdir.js";

export const handlers: { [K in Exclude<Instruction["kind"], "from">]: InstructionHandler<Expanded<Extract<Instruction, { kind: K }>>, keyof HandlerRoles> } = {
  add, arg, cmd, copy, entrypoint, env, expose, healthcheck, label, maintainer, onbuild, run, shell, stopsignal, user, volume, workdir,
};
