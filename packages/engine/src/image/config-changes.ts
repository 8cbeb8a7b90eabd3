/**
 * Dockerfile instructions applied to an image config without a build, as `docker import -c` and
 * `docker commit -c` apply them (moby's `BuildFromConfig`): the changes are joined with newlines
 * and parsed as one Dockerfile; every instruction must be one of `CONFIG_CHANGE_INSTRUCTIONS`
 * (moby's `validCommitCommands`) and all are checked before any is applied; variables expand from
 * the config's own ENV as they do in a build; each then changes the config through the same rule
 * the build's handler uses (instructions/*.ts). Nothing runs and nothing is written: WORKDIR sets
 * the working directory only, and no history entry is added.
 */
import {
  DockerfileError, expandInstruction, parseDockerfile, toInstruction,
  type Instruction, type ParsedDockerfile, type Position,
} from "@tsbuild/dockerfile";
import type { RuntimeConfig } from "./image-state.js";
import { getEnv } from "./image-state.js";
import { setCmd } from "../instructions/cmd.js";
import { setEntrypoint } from "../instructions/entrypoint.js";
import { setEnvPairs } from "../instructions/env.js";
import { exposePorts } from "../instructions/expose.js";
import { setHealthcheck } from "../instructions/healthcheck.js";
import { addLabels } from "../instructions/label.js";
import { addOnbuild } from "../instructions/onbuild.js";
import { setStopSignal } from "../instructions/stopsignal.js";
import { setUser } from "../instructions/user.js";
import { addVolumes } from "../instructions/volume.js";
import { setWorkdir } from "../instructions/workdir.js";
import { handlers } from "../instructions/index.js";

/** The instructions a change may be, as moby's `validCommitCommands`. */
export const CONFIG_CHANGE_INSTRUCTIONS = [
  "cmd", "entrypoint", "env", "expose", "healthcheck", "label", "onbuild", "stopsignal", "user", "volume", "workdir",
] as const;

type ChangeKind = (typeof CONFIG_CHANGE_INSTRUCTIONS)[number];

/** A change that cannot be applied: which one (as given), what is wrong with it and what to do. */
export class ConfigChangeError extends Error {
  override readonly name = "ConfigChangeError";
  constructor(
    /** the change as given (the whole `-c` text) */
    readonly change: string,
    /** its 0-based index among the changes */
    readonly index: number,
    readonly detail: string,
    readonly hint?: string,
  ) {
    super(`bad -c change "${change}": ${detail}${hint ? ` (${hint})` : ""}`);
  }
}

const FILE = "-c";

const allowed = (kind: string): kind is ChangeKind => (CONFIG_CHANGE_INSTRUCTIONS as readonly string[]).includes(kind);

/**
 * Returns a copy of `config` with `changes` applied (each change one Dockerfile instruction, or
 * several on lines of their own). Throws ConfigChangeError naming the change at fault; `config`
 * is never modified.
 */
export function applyConfigChanges(config: RuntimeConfig, changes: readonly string[]): RuntimeConfig {
  const out = structuredClone(config);
  if (changes.length === 0) return out;
  // the line each change starts on in the joined text, to name the change an error is in
  const starts: number[] = [];
  let line = 1;
  for (const c of changes) {
    starts.push(line);
    line += c.split("\n").length;
  }
  const changeAt = (pos: Position | undefined): number => {
    let i = 0;
    while (pos && i + 1 < starts.length && (starts[i + 1] as number) <= pos.line) i++;
    return i;
  };
  const fail = (e: DockerfileError): never => {
    const i = changeAt(e.position);
    throw new ConfigChangeError(changes[i] as string, i, e.detail, e.hint);
  };
  let parsed: ParsedDockerfile;
  try {
    parsed = parseDockerfile(changes.join("\n"), { file: FILE });
  } catch (e) {
    if (!(e instanceof DockerfileError)) throw e;
    if (e.code === "empty-file") throw new ConfigChangeError(changes.join("\n"), 0, "no instruction in it", "give a Dockerfile instruction, e.g. -c 'CMD [\"sh\"]'");
    return fail(e);
  }
  const { children: nodes, escapeToken } = parsed;
  // every change is checked before any is applied (as moby does)
  const instructions: Instruction[] = [];
  for (const node of nodes) {
    const kind = node.value.toLowerCase();
    const refuse = (): never => {
      const i = changeAt({ line: node.startLine, column: node.column });
      throw new ConfigChangeError(changes[i] as string, i, `${node.value.toUpperCase()} cannot be applied to an image config`,
        `use ${CONFIG_CHANGE_INSTRUCTIONS.slice(0, -1).map((k) => k.toUpperCase()).join(", ")} or ${CONFIG_CHANGE_INSTRUCTIONS.at(-1)?.toUpperCase()}`);
    };
    let instr: Instruction;
    try {
      // a known instruction that changes files or the build (RUN, COPY, FROM…) is refused before
      // its arguments are looked at; an unknown word gets the parser's "did you mean"
      if (!allowed(kind) && isInstructionKeyword(kind)) refuse();
      instr = toInstruction(node, FILE);
    } catch (e) {
      if (e instanceof DockerfileError) fail(e);
      throw e;
    }
    instructions.push(instr);
  }
  let cmdSet = false;
  for (const raw of instructions) {
    try {
      const i = expandInstruction(raw, { lookup: (k) => getEnv(out, k), escapeToken, file: FILE });
      apply(out, i, cmdSet);
      if (i.kind === "cmd") cmdSet = true;
    } catch (e) {
      if (e instanceof DockerfileError) fail(e);
      throw e;
    }
  }
  return out;
}

/** A Dockerfile instruction's keyword (so not a typo, which gets the parser's "did you mean"). */
function isInstructionKeyword(kind: string): boolean {
  return kind === "from" || Object.hasOwn(handlers, kind);
}

/** One allowed instruction's config change, through the build handler's own rule. */
function apply(config: RuntimeConfig, i: Instruction, cmdSet: boolean): void {
  switch (i.kind) {
    case "cmd":
      setCmd(config, i.cmd);
      return;
    case "entrypoint":
      setEntrypoint(config, i.cmd, cmdSet);
      return;
    case "env":
      setEnvPairs(config, i.pairs);
      return;
    case "label":
      addLabels(config, i.pairs);
      return;
    case "expose":
      exposePorts(config, i.ports);
      return;
    case "volume":
      addVolumes(config, i.paths, FILE, i.position);
      return;
    case "user":
      setUser(config, i.user);
      return;
    case "workdir":
      setWorkdir(config, i.path);
      return;
    case "stopsignal":
      setStopSignal(config, i.signal);
      return;
    case "onbuild":
      addOnbuild(config, i.expression);
      return;
    case "healthcheck":
      setHealthcheck(config, i, FILE);
      return;
    default:
      // checked before: unreachable
      throw new DockerfileError("unknown-instruction", `${i.kind.toUpperCase()} cannot be applied to an image config`, FILE, i.position);
  }
}
