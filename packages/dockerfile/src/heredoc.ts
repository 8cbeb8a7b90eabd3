/**
 * Heredocs as BuildKit's frontend reads them (dockerfile 1.7; parser/parser.go and
 * instructions/parse.go): which words of a RUN/COPY/ADD line open one (`[fd]<<[-]NAME`, NAME
 * possibly quoted), `<<-`'s tab stripping, and the expansion of a COPY/ADD heredoc's content.
 * What RUN makes of its heredocs is the engine's (instructions/run-command.ts).
 */
import type { Heredoc } from "./ast.js";
import { DockerfileError } from "./errors.js";
import { expandWord, expandWords, type EnvLookup } from "./shell-lex.js";

const reHeredoc = /^(\d*)<<(-?)([^<]*)$/;

/**
 * BuildKit's ParseHeredoc for one word: `[fd]<<[-]NAME`. NAME is lexed as a shell word (it must be
 * one word); it is quoted, and the content then not expanded, when lexing it with and without its
 * quotes gives different counts of quote characters (`<<'EOF'`, `<<"EOF"`, `<<E"O"F`). Throws
 * what the lexer throws (an unterminated quote).
 */
export function parseHeredocWord(src: string): Heredoc | undefined {
  const m = reHeredoc.exec(src);
  if (!m) return undefined;
  const rest = m[3] as string;
  if (rest.length === 0) return undefined;
  const none = () => undefined;
  const words = expandWords(rest, none, { skipUnsetEnv: true });
  if (words.length !== 1) return undefined;
  const raw = expandWords(rest, none, { skipUnsetEnv: true, rawQuotes: true });
  if (raw.length !== words.length) return undefined;
  const word = words[0] as string;
  const count = (s: string) => (s.match(/['"]/g) ?? []).length;
  return {
    name: word,
    content: "",
    expand: count(word) === count(raw[0] as string),
    chomp: m[2] === "-",
    fileDescriptor: m[1] ? Number.parseInt(m[1], 10) : 0,
  };
}

/** parseHeredocWord without its errors (BuildKit's MustParseHeredoc): a word the lexer fails on is no heredoc. */
export function mustParseHeredocWord(src: string): Heredoc | undefined {
  try {
    return parseHeredocWord(src);
  } catch {
    return undefined;
  }
}

/**
 * The heredocs a logical line opens, in order (their bodies follow the line, one after another).
 * The line is split into words as BuildKit does (quotes and escapes kept, so `"<<EOF"` and
 * `\<<EOF` open none). `<<  EOF`, blanks between the operator and its word, opens one as
 * dockerfile 1.16 reads it (1.7 takes `<<` for a word of its own and the body for instructions).
 */
export function heredocsFromLine(line: string, file: string, lineNo: number): Heredoc[] {
  let words: string[];
  try {
    words = expandWords(line, () => undefined, { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  } catch {
    words = [];
  }
  const docs: Heredoc[] = [];
  for (let i = 0; i < words.length; i++) {
    let w = words[i] as string;
    if (/^\d*<<-?$/.test(w) && i + 1 < words.length) w += words[++i] as string;
    let h: Heredoc | undefined;
    try {
      h = parseHeredocWord(w);
    } catch (e) {
      throw new DockerfileError("parse", `invalid heredoc ${w}: ${(e as Error).message}`, file, { line: lineNo, column: 1 });
    }
    if (h) docs.push(h);
  }
  return docs;
}

/** Strips leading tabs from every line, for `<<-` heredocs. */
export function chompHeredocContent(src: string): string {
  return src.replace(/^\t+/gm, "");
}

/**
 * A COPY/ADD heredoc's content with its variables expanded, as dockerfile 1.7 expands it
 * (ExpandRaw: a lexer with escape `\` whatever the Dockerfile's escape directive, quotes taken as
 * plain characters): `$V`, `${V}` and the `${V…}` operators are replaced (unset: ""), `\x` is x
 * (`\$V` stays `$V`, `\\` is `\`, a `\` before a newline is dropped), `$$` and `$1` are "" (special
 * parameters, never set), a `$` before anything else stays. Throws ExpansionError (`${V?msg}`).
 */
export function expandHeredocContent(content: string, env: EnvLookup): string {
  return expandWord(content, env, { escapeToken: "\\", skipProcessQuotes: true });
}
