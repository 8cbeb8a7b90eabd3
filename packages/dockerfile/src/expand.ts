/**
 * Variable expansion of an instruction when it runs, in exactly the fields where BuildKit expands
 * (ENV, LABEL, ARG defaults, COPY/ADD sources, dest and --chown/--chmod, the content of their
 * heredocs whose delimiter is not quoted (heredoc.ts), COPY --from, ADD --checksum,
 * EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, RUN --mount). RUN, CMD, ENTRYPOINT, SHELL,
 * HEALTHCHECK, MAINTAINER and ONBUILD are left to the shell / to the later build, as in BuildKit.
 */
import { DockerfileError } from "./errors.js";
import type { ExpandedRunInstruction, Instruction, MountFlag, RunInstruction } from "./instructions.js";
import { mountSpecFromFields, MountSpecError, type MountSpec } from "./mount-spec.js";
import { expandWord, expandWords, ExpansionError, type EnvLookup } from "./shell-lex.js";
import { expandHeredocContent } from "./heredoc.js";

export interface ExpandContext {
  lookup: EnvLookup;
  escapeToken: string;
  file: string;
}

/** An instruction after expandInstruction: a RUN gains its typed mounts. */
export type Expanded<T extends Instruction> = T extends RunInstruction ? ExpandedRunInstruction : T;

/**
 * A RUN's mounts: each value expanded on its own (a variable holding a comma stays in its field,
 * as in BuildKit; keys and keys without a value are not expanded), then typed and checked.
 */
function expandMounts(i: RunInstruction, w: (s: string) => string, file: string): { mountFlags: MountFlag[]; mounts: MountSpec[] } {
  const mountFlags = i.mountFlags.map((f) => ({ text: f.text, fields: f.fields.map((x) => (x.value === undefined ? x : { ...x, value: w(x.value) })) }));
  const mounts = mountFlags.map((f) => {
    try {
      return mountSpecFromFields(f.fields);
    } catch (e) {
      if (e instanceof MountSpecError) throw new DockerfileError("bad-mount", `--mount=${f.text}: ${e.message}`, file, i.position, e.hint);
      throw e;
    }
  });
  return { mountFlags, mounts };
}

/** Returns a copy of the instruction with its expandable fields expanded. */
export function expandInstruction<T extends Instruction>(instr: T, ctx: ExpandContext): Expanded<T> {
  const w = (s: string): string => {
    try {
      return expandWord(s, ctx.lookup, { escapeToken: ctx.escapeToken });
    } catch (e) {
      if (e instanceof ExpansionError) throw new DockerfileError("expansion", e.message, ctx.file, instr.position);
      throw e;
    }
  };
  const ws = (s: string): string[] => {
    try {
      return expandWords(s, ctx.lookup, { escapeToken: ctx.escapeToken });
    } catch (e) {
      if (e instanceof ExpansionError) throw new DockerfileError("expansion", e.message, ctx.file, instr.position);
      throw e;
    }
  };
  const content = (name: string, data: string): string => {
    try {
      return expandHeredocContent(data, ctx.lookup);
    } catch (e) {
      if (e instanceof ExpansionError) throw new DockerfileError("expansion", `heredoc <<${name}: ${e.reason}`, ctx.file, instr.position);
      throw e;
    }
  };
  const i = instr as Instruction;
  switch (i.kind) {
    case "env":
    case "label":
      return { ...i, pairs: i.pairs.map((p) => ({ key: w(p.key), value: w(p.value) })) } as Expanded<T>;
    case "arg":
      return { ...i, args: i.args.map((a) => (a.value !== undefined ? { key: a.key, value: w(a.value) } : a)) } as Expanded<T>;
    case "copy":
    case "add": {
      const contents = i.contents.map((c) => (c.expand ? { ...c, data: content(c.name, c.data) } : c));
      const out = { ...i, sources: i.sources.map(w), contents, dest: w(i.dest) } as typeof i;
      if (i.chown !== undefined) out.chown = w(i.chown);
      if (i.chmod !== undefined) out.chmod = w(i.chmod);
      if (i.kind === "copy" && i.from !== undefined) (out as typeof i).from = w(i.from);
      if (i.kind === "add" && i.checksum !== undefined) (out as typeof i).checksum = w(i.checksum);
      return out as Expanded<T>;
    }
    case "expose":
      return { ...i, ports: i.ports.flatMap(ws) } as Expanded<T>;
    case "volume":
      return { ...i, paths: i.paths.map(w) } as Expanded<T>;
    case "user":
      return { ...i, user: w(i.user) } as Expanded<T>;
    case "workdir":
      return { ...i, path: w(i.path) } as Expanded<T>;
    case "stopsignal":
      return { ...i, signal: w(i.signal) } as Expanded<T>;
    case "run":
      return { ...i, ...expandMounts(i, w, ctx.file) } as Expanded<T>;
    default:
      return instr as Expanded<T>;
  }
}
