/**
 * The process a RUN starts, as BuildKit's dispatchRun makes it (dockerfile 1.7). Exec form runs as
 * written (it never has heredocs: the parser reads none after a JSON array). Shell form runs through
 * SHELL (default `/bin/sh -c`), and its heredocs decide the command string:
 *
 * - the whole command is one heredoc (`RUN <<EOF`, `RUN 3<<-"EOF"`): its content (tabs stripped
 *   for `<<-`) is the command; if the content starts with `#!` it is instead written to a file
 *   NAME, mode 0755, mounted read-only at /dev/pipes/, and the command is `/dev/pipes/NAME`;
 * - any other command with heredocs (`RUN python3 <<EOF`, `RUN cat <<EOF > /f`, several) is given to
 *   the shell whole: the line, then each heredoc's body and delimiter, each after a newline, and the
 *   shell reads them as heredocs.
 *
 * The content is never expanded by the builder (a quoted delimiter changes nothing): the shell
 * expands what it expands. The history's `created_by` is the argv joined, so a `#!` heredoc's key
 * needs its content besides (`script`).
 */
import { rm, writeFile, chmod } from "node:fs/promises";
import { join, posix } from "node:path";
import { chompHeredocContent, mustParseHeredocWord, type RunInstruction } from "@tsbuild/dockerfile";
import type { RunMount } from "@tsbuild/runtime";
import type { StageSources } from "../solver/roles.js";
import { inlineFileName } from "../copy/inline-file.js";

/** Where a `#!` heredoc is mounted, as in BuildKit. */
export const PIPES_DIR = "/dev/pipes";

/** A `#!` heredoc, run as a file from a read-only mount at /dev/pipes/. */
export interface InlineScript {
  /** the heredoc's delimiter, the file's name */
  name: string;
  /** the content (tabs stripped for `<<-`) */
  data: string;
}

export interface RunCommand {
  /** the argv: the shell prepended for shell form; joined with spaces, what the history records */
  args: string[];
  script?: InlineScript;
}

/**
 * @param shell the image's SHELL, or the default
 * @param os the image's os: on Windows a `#!` heredoc is not made a file (as BuildKit)
 */
export function runCommand(i: RunInstruction, shell: readonly string[], os: string): RunCommand {
  if (i.cmd.form === "exec") return { args: i.cmd.args };
  const [first] = i.heredocs;
  if (!first) return { args: [...shell, i.cmd.command] };
  if (mustParseHeredocWord(i.cmd.command)) {
    const data = first.chomp ? chompHeredocContent(first.content) : first.content;
    // the `#!` is looked for before the tabs are stripped, as BuildKit does
    if (os !== "windows" && first.content.startsWith("#!")) {
      return { args: [...shell, posix.join(PIPES_DIR, first.name)], script: { name: first.name, data } };
    }
    return { args: [...shell, data] };
  }
  let full = i.cmd.command;
  for (const h of i.heredocs) full += `\n${h.content}${h.name}`;
  return { args: [...shell, full] };
}

/** What a RUN's cache key needs beyond its argv: a `#!` heredoc's content (its argv names only its path). */
export function scriptInputs(c: RunCommand): { script?: string } {
  return c.script ? { script: JSON.stringify(c.script) } : {};
}

/**
 * Runs `fn` with the mount a `#!` heredoc needs (none without one): a directory holding the file,
 * both mode 0755 and owned by root, bound read-only at /dev/pipes; removed after.
 * Throws an Error for a name BuildKit cannot make a file of (`a/b`).
 */
export async function withScript<T>(sources: Pick<StageSources, "scratchDir">, script: InlineScript | undefined, fn: (mounts: RunMount[]) => Promise<T>): Promise<T> {
  if (!script) return fn([]);
  const file = inlineFileName(script.name);
  if ("error" in file) throw new Error(file.error);
  const dir = await sources.scratchDir("pipes");
  try {
    await chmod(dir, 0o755);
    const path = join(dir, file.name);
    await writeFile(path, script.data, { mode: 0o755, flag: "wx" });
    await chmod(path, 0o755);
    return await fn([{ type: "bind", target: PIPES_DIR, source: dir }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
