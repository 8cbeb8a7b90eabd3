/**
 * Typed instructions from the syntax tree, as BuildKit's instructions package makes them: each
 * instruction's arguments and the flags it allows. Values stay as written (unexpanded): variables
 * are expanded when the instruction runs (expand.ts), because ENV from a base image is only known
 * then.
 */
import type { Heredoc, Node } from "./ast.js";
import { DockerfileError, type Position } from "./errors.js";
import { flagBool, flagString, flagStrings, parseFlags, type FlagSpec } from "./flags.js";
import { parseSpecFields, SpecSyntaxError, type SpecField } from "./spec-fields.js";
import { chompHeredocContent, mustParseHeredocWord } from "./heredoc.js";
import type { MountSpec } from "./mount-spec.js";

export interface InstructionBase {
  /** lowercased keyword */
  kind: string;
  position: Position;
  /** the logical line as written (continuations joined) */
  original: string;
}

/** Shell form (one command string run through SHELL) or exec form (argv). */
export type CommandLine =
  | { form: "shell"; command: string }
  | { form: "exec"; args: string[] };

export interface FromInstruction extends InstructionBase {
  kind: "from";
  image: string;
  stageName?: string;
  platform?: string;
}
export interface RunInstruction extends InstructionBase {
  kind: "run";
  cmd: CommandLine;
  heredocs: Heredoc[];
  /** the `--mount` flags as written (values unexpanded); see ExpandedRunInstruction for the typed mounts */
  mountFlags: MountFlag[];
  network?: "default" | "none" | "host";
  security?: "sandbox" | "insecure";
}
/** One `--mount` flag: its text, e.g. "type=cache,target=/root/.cache", split into CSV fields. */
export interface MountFlag {
  text: string;
  fields: SpecField[];
}
/** A RUN whose variables are expanded (expandInstruction): its mounts typed and checked. */
export interface ExpandedRunInstruction extends RunInstruction {
  mounts: MountSpec[];
}
export interface CmdInstruction extends InstructionBase {
  kind: "cmd";
  cmd: CommandLine | undefined;
}
export interface EntrypointInstruction extends InstructionBase {
  kind: "entrypoint";
  cmd: CommandLine | undefined;
}
export interface ShellInstruction extends InstructionBase {
  kind: "shell";
  shell: string[];
}
export interface KeyValue {
  key: string;
  value: string;
}
export interface EnvInstruction extends InstructionBase {
  kind: "env";
  pairs: KeyValue[];
}
export interface LabelInstruction extends InstructionBase {
  kind: "label";
  pairs: KeyValue[];
}
export interface ArgDeclaration {
  key: string;
  /** undefined when declared without a default */
  value?: string;
}
export interface ArgInstruction extends InstructionBase {
  kind: "arg";
  args: ArgDeclaration[];
}
/**
 * A COPY/ADD source written as a heredoc (BuildKit's SourceContent): a file of that name holding
 * the heredoc's content, made by the instruction itself.
 */
export interface InlineSource {
  /** the file's name: the heredoc's delimiter, quotes removed (`<<"EOF"` → EOF) */
  name: string;
  /** the content, with `<<-`'s leading tabs stripped; expandInstruction expands it when `expand` */
  data: string;
  /** the delimiter was not quoted: build args and ENV are expanded in the content */
  expand: boolean;
}
export interface CopyInstruction extends InstructionBase {
  kind: "copy";
  /** the paths to copy (context, stage or image); heredoc sources are in `contents` */
  sources: string[];
  /** the heredoc sources, in the order written; BuildKit copies them after `sources` */
  contents: InlineSource[];
  dest: string;
  heredocs: Heredoc[];
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  /** --parents[=BOOL] (Dockerfile 1.20) */
  parents: boolean;
  /** --exclude=PATTERN, repeatable (Dockerfile 1.19); not expanded, as in BuildKit */
  exclude: string[];
}
export interface AddInstruction extends InstructionBase {
  kind: "add";
  /** paths and URLs; heredoc sources are in `contents` */
  sources: string[];
  contents: InlineSource[];
  dest: string;
  heredocs: Heredoc[];
  chown?: string;
  chmod?: string;
  link: boolean;
  keepGitDir: boolean;
  checksum?: string;
  exclude: string[];
  /** --unpack[=BOOL] (Dockerfile 1.17); undefined when not given (local archives unpack, URLs do not) */
  unpack?: boolean;
}
export interface ExposeInstruction extends InstructionBase {
  kind: "expose";
  ports: string[];
}
export interface VolumeInstruction extends InstructionBase {
  kind: "volume";
  paths: string[];
}
export interface UserInstruction extends InstructionBase {
  kind: "user";
  user: string;
}
export interface WorkdirInstruction extends InstructionBase {
  kind: "workdir";
  path: string;
}
export interface StopsignalInstruction extends InstructionBase {
  kind: "stopsignal";
  signal: string;
}
export interface MaintainerInstruction extends InstructionBase {
  kind: "maintainer";
  maintainer: string;
}
export interface HealthcheckInstruction extends InstructionBase {
  kind: "healthcheck";
  /** ["NONE"] or ["CMD", ...argv] or ["CMD-SHELL", command] */
  test: string[];
  /** durations as written ("30s"), parsed by parseDuration */
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  startInterval?: string;
  retries?: number;
}
export interface OnbuildInstruction extends InstructionBase {
  kind: "onbuild";
  /** the trigger as stored in the image config, e.g. "RUN echo hi" */
  expression: string;
  inner: Instruction;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | EnvInstruction
  | LabelInstruction
  | ArgInstruction
  | CopyInstruction
  | AddInstruction
  | ExposeInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | StopsignalInstruction
  | MaintainerInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

const FLAGS: Record<string, FlagSpec> = {
  from: { platform: "string" },
  run: { mount: "strings", network: "string", security: "string" },
  copy: { from: "string", chown: "string", chmod: "string", link: "bool", parents: "bool", exclude: "strings" },
  add: { chown: "string", chmod: "string", link: "bool", "keep-git-dir": "bool", checksum: "string", exclude: "strings", unpack: "bool" },
  healthcheck: { interval: "string", timeout: "string", "start-period": "string", "start-interval": "string", retries: "string" },
};

const KNOWN = [
  "from", "run", "cmd", "entrypoint", "shell", "env", "label", "arg", "copy", "add", "expose", "volume", "user",
  "workdir", "stopsignal", "maintainer", "healthcheck", "onbuild",
];

function positionOf(node: Node): Position {
  return { line: node.startLine, column: node.column, endLine: node.endLine };
}

function suggest(word: string): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = 3;
  for (const k of KNOWN) {
    const d = levenshtein(w, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (dp[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = dp[i] as number[];
      const prev = dp[i - 1] as number[];
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return (dp[a.length] as number[])[b.length] as number;
}

function commandLine(node: Node): CommandLine | undefined {
  if (node.next.length === 0) return undefined;
  if (node.json) return { form: "exec", args: node.next.map((n) => n.value) };
  return { form: "shell", command: node.next.map((n) => n.value).join(" ") };
}

/**
 * COPY/ADD sources as BuildKit's parseSourcesAndDest splits them: a word that is a heredoc (also
 * in exec form, where no heredoc body was read: its content is then empty) takes the content of
 * the line's heredoc of that name (the last one, if two share it), tabs stripped for `<<-`; every
 * other word is a path.
 */
function splitSources(words: string[], heredocs: readonly Heredoc[]): { sources: string[]; contents: InlineSource[] } {
  const byName = new Map<string, Heredoc>();
  for (const h of heredocs) byName.set(h.name, h);
  const sources: string[] = [];
  const contents: InlineSource[] = [];
  for (const w of words) {
    const h = mustParseHeredocWord(w);
    if (!h) {
      sources.push(w);
      continue;
    }
    const content = byName.get(h.name)?.content ?? "";
    contents.push({ name: h.name, data: h.chomp ? chompHeredocContent(content) : content, expand: h.expand });
  }
  return { sources, contents };
}

function pairs(node: Node): KeyValue[] {
  const out: KeyValue[] = [];
  for (let i = 0; i + 1 < node.next.length; i += 3) {
    out.push({ key: (node.next[i] as Node).value, value: (node.next[i + 1] as Node).value });
  }
  return out;
}

/** Turns one syntax-tree node into a typed instruction (throws DockerfileError). */
export function toInstruction(node: Node, file: string): Instruction {
  const kind = node.value.toLowerCase();
  const position = positionOf(node);
  const base = { position, original: node.original };
  const err = (code: ConstructorParameters<typeof DockerfileError>[0], msg: string, hint?: string) =>
    new DockerfileError(code, msg, file, position, hint);
  if (!KNOWN.includes(kind)) {
    const s = suggest(kind);
    throw err("unknown-instruction", `unknown instruction: ${node.value}`, s ? `did you mean ${s.toUpperCase()}?` : undefined);
  }
  const flags = parseFlags(node.value.toUpperCase(), node.flags, FLAGS[kind] ?? {}, file, position);
  const values = node.next.map((n) => n.value);
  const upper = kind.toUpperCase();
  const atLeastOne = () => {
    if (values.length === 0) throw err("missing-arguments", `${upper} requires at least one argument`);
  };
  const exactlyOne = () => {
    if (values.length !== 1) throw err("missing-arguments", `${upper} requires exactly one argument`);
  };

  switch (kind) {
    case "from": {
      if (values.length !== 1 && !(values.length === 3 && (values[1] as string).toLowerCase() === "as")) {
        throw err("missing-arguments", "FROM requires either one or three arguments", "write FROM image [AS name]");
      }
      const stageName = values.length === 3 ? (values[2] as string).toLowerCase() : undefined;
      if (stageName !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(stageName)) {
        throw err("parse", `invalid name for build stage: "${values[2]}", name can't start with a number or contain symbols`);
      }
      const platform = flagString(flags, "platform");
      return { kind, ...base, image: values[0] as string, ...(stageName ? { stageName } : {}), ...(platform !== undefined ? { platform } : {}) };
    }
    case "run": {
      const cmd = commandLine(node);
      if (!cmd) throw err("missing-arguments", "RUN requires at least one argument");
      // checked as written (BuildKit does not expand these flags)
      const network = flagString(flags, "network") as RunInstruction["network"];
      if (network !== undefined && !["default", "none", "host"].includes(network)) throw err("bad-flag", `invalid network mode "${network}"`, "use --network=default, none or host");
      const security = flagString(flags, "security") as RunInstruction["security"];
      if (security !== undefined && !["sandbox", "insecure"].includes(security)) throw err("bad-flag", `security "${security}" is not valid`, "use --security=sandbox or insecure");
      const mountFlags = flagStrings(flags, "mount").map((text): MountFlag => {
        let fields: SpecField[];
        try {
          fields = parseSpecFields(text);
        } catch (e) {
          if (e instanceof SpecSyntaxError) throw err("bad-mount", `--mount=${text}: failed to parse csv mounts: ${e.message}`, 'quote a whole field that holds a comma or a quote: "source=a,b"');
          throw e;
        }
        // as BuildKit: a stage is named as written (its dependency is known before anything runs)
        if (fields.some((f) => f.key.toLowerCase() === "from" && f.value !== undefined && /\$./.test(f.value))) {
          throw err("bad-mount", `--mount=${text}: 'from' doesn't support variable expansion, define alias stage instead`, "write FROM ${X} AS name, then from=name");
        }
        return { text, fields };
      });
      return {
        kind, ...base, cmd, heredocs: node.heredocs, mountFlags,
        ...(network !== undefined ? { network } : {}), ...(security !== undefined ? { security } : {}),
      };
    }
    case "cmd":
    case "entrypoint":
      return { kind, ...base, cmd: commandLine(node) };
    case "shell": {
      atLeastOne();
      if (!node.json) throw err("bad-json", "SHELL requires the arguments to be in JSON form", 'write SHELL ["executable", "parameters"]');
      return { kind, ...base, shell: values };
    }
    case "env":
    case "label": {
      if (values.length === 0) throw err("missing-arguments", `${upper} requires at least one argument`);
      return { kind, ...base, pairs: pairs(node) } as EnvInstruction | LabelInstruction;
    }
    case "arg": {
      if (values.length === 0) throw err("missing-arguments", "ARG requires at least one argument");
      const args = values.map((w): ArgDeclaration => {
        const eq = w.indexOf("=");
        return eq === -1 ? { key: w } : { key: w.slice(0, eq), value: w.slice(eq + 1) };
      });
      return { kind, ...base, args };
    }
    case "copy":
    case "add": {
      if (values.length < 2) {
        throw err("missing-arguments", `${upper} requires at least two arguments, but only one was provided. Destination could not be determined.`,
          `write ${upper} SOURCE... DEST`);
      }
      const dest = values[values.length - 1] as string;
      if (mustParseHeredocWord(dest)) throw err("bad-heredoc", `${upper} cannot accept a heredoc as a destination`, `write the heredoc before the destination: ${upper} <<EOF /path`);
      const { sources, contents } = splitSources(values.slice(0, -1), node.heredocs);
      const common = {
        ...base, sources, contents, dest, heredocs: node.heredocs, link: flagBool(flags, "link"), exclude: flagStrings(flags, "exclude"),
        ...(flagString(flags, "chown") !== undefined ? { chown: flagString(flags, "chown") } : {}),
        ...(flagString(flags, "chmod") !== undefined ? { chmod: flagString(flags, "chmod") } : {}),
      };
      if (kind === "copy") {
        const from = flagString(flags, "from");
        return { kind, ...common, parents: flagBool(flags, "parents"), ...(from !== undefined ? { from } : {}) } as CopyInstruction;
      }
      const checksum = flagString(flags, "checksum");
      return {
        kind, ...common, keepGitDir: flagBool(flags, "keep-git-dir"), ...(checksum !== undefined ? { checksum } : {}),
        ...(flags.has("unpack") ? { unpack: flagBool(flags, "unpack") } : {}),
      } as AddInstruction;
    }
    case "expose":
      atLeastOne();
      return { kind, ...base, ports: values };
    case "volume": {
      atLeastOne();
      for (const v of values) if (v.trim() === "") throw err("missing-arguments", "VOLUME specified can not be an empty string");
      return { kind, ...base, paths: values };
    }
    case "user":
      exactlyOne();
      return { kind, ...base, user: values[0] as string };
    case "workdir":
      exactlyOne();
      return { kind, ...base, path: values[0] as string };
    case "stopsignal":
      exactlyOne();
      return { kind, ...base, signal: values[0] as string };
    case "maintainer":
      exactlyOne();
      return { kind, ...base, maintainer: values[0] as string };
    case "healthcheck": {
      atLeastOne();
      const type = (values[0] as string).toUpperCase();
      if (type === "NONE") {
        if (values.length !== 1) throw err("parse", "HEALTHCHECK NONE takes no arguments");
        if (node.flags.length > 0) throw err("parse", "HEALTHCHECK NONE takes no options");
        return { kind, ...base, test: ["NONE"] };
      }
      if (type !== "CMD") throw err("parse", `Unknown type "${values[0]}" in HEALTHCHECK (try CMD)`);
      const rest = values.slice(1);
      if (rest.length === 0) throw err("missing-arguments", "Missing command after HEALTHCHECK CMD");
      const test = node.json ? ["CMD", ...rest] : ["CMD-SHELL", rest.join(" ")];
      const retriesRaw = flagString(flags, "retries");
      let retries: number | undefined;
      if (retriesRaw !== undefined && retriesRaw !== "") {
        retries = Number(retriesRaw);
        if (!Number.isInteger(retries)) throw err("bad-flag", `--retries: invalid number ${retriesRaw}`);
        if (retries < 0) throw err("bad-flag", "--retries cannot be negative");
      }
      const opt = (k: string, out: string) => (flagString(flags, k) !== undefined && flagString(flags, k) !== "" ? { [out]: flagString(flags, k) } : {});
      return {
        kind, ...base, test, ...opt("interval", "interval"), ...opt("timeout", "timeout"),
        ...opt("start-period", "startPeriod"), ...opt("start-interval", "startInterval"),
        ...(retries !== undefined ? { retries } : {}),
      };
    }
    case "onbuild": {
      const inner = node.next[0]?.children[0];
      if (!inner) throw err("missing-arguments", "ONBUILD requires at least one argument");
      const innerKind = inner.value.toLowerCase();
      if (innerKind === "onbuild") throw err("parse", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (innerKind === "from" || innerKind === "maintainer") throw err("parse", `${inner.value.toUpperCase()} isn't allowed as an ONBUILD trigger`);
      const innerInstr = toInstruction({ ...inner, heredocs: node.heredocs, startLine: node.startLine, endLine: node.endLine, column: node.column }, file);
      // the trigger as BuildKit stores it: the line without ONBUILD, then each heredoc's body and delimiter
      let expression = node.original.trim().replace(/^\S+\s+/, "");
      for (const h of node.heredocs) expression += `\n${h.content}${h.name}`;
      return { kind, ...base, expression, inner: innerInstr };
    }
  }
  throw err("unknown-instruction", `unknown instruction: ${node.value}`);
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds ("1m30s" → 90e9). */
export function parseDuration(s: string): number | undefined {
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number);
    pos = re.lastIndex;
  }
  return pos === s.length && pos > 0 ? Math.round(total) : undefined;
}
