/**
 * Which COPY/ADD steps are --link steps (step/link-step.ts), and what they cannot do, as BuildKit
 * (dockerfile 1.7) decides it: `--link` without `--chmod` copies onto an empty tree that is merged
 * on the stage; with `--chmod` the flag changes nothing (dispatchCopy links only when chmod is
 * empty). A --link step reads nothing of the image it is added to, so `--chown` names, which need
 * the image's /etc/passwd and /etc/group, are refused (BuildKit fails them with "invalid user
 * index: -1"); numbers and `root` need no lookup.
 */
import type { AddInstruction, CopyInstruction } from "@tsbuild/dockerfile";
import type { BuildGraph } from "@tsbuild/dockerfile";
import type { StepRunner } from "../solver/roles.js";
import { BuildError } from "../errors.js";
import { numericChown } from "./chown.js";

/** True when BuildKit runs this COPY/ADD as a --link step. */
export function isLinked(i: CopyInstruction | AddInstruction): boolean {
  return i.link && !i.chmod;
}

/**
 * The step runner for a COPY/ADD: its --link one when the step is linked (its chown checked first:
 * a name is an error at the instruction's line), else the plain one. Same arguments as
 * `StepRunner.change`; a linked step takes no shortcut (it copies onto an empty root).
 */
export function copyStep(roles: { steps: StepRunner; graph: BuildGraph }, i: CopyInstruction | AddInstruction): StepRunner["change"] {
  if (!isLinked(i)) return roles.steps.change;
  if (i.chown && !numericChown(i.chown)) {
    throw new BuildError(
      `${i.kind.toUpperCase()} --link --chown=${i.chown}: a --link step does not read the image it is added to, so user and group names cannot be `
        + `resolved (BuildKit fails with "invalid user index: -1"); give numeric ids (--chown=UID:GID; root is 0) or drop --link`,
      roles.graph.file, i.position, i.original,
    );
  }
  return (st, createdBy, change, inputs) => roles.steps.linked(st, createdBy, change, inputs);
}
