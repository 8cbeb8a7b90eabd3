/**
 * Lowering: the parsed Dockerfile becomes a BuildGraph: stages with their base (image, earlier
 * stage or scratch), typed instructions, dependency edges, and the stages the target reaches.
 * FROM lines are expanded here with the global (meta) ARGs, as BuildKit does; the other
 * instructions keep their words as written and are expanded when they run (expand.ts).
 */
import type { ParsedDockerfile } from "./ast.js";
import { DockerfileError, type Position } from "./errors.js";
import { toInstruction, type ArgInstruction, type Instruction } from "./instructions.js";
import { parseDockerfile } from "./parser.js";
import { expandWord, ExpansionError } from "./shell-lex.js";
import { formatPlatform, hostPlatform, parsePlatform, platformArgs, PROXY_ARGS, type PlatformSpec } from "./platform.js";
import { BUILDER_ARGS, readBuilderArgs, type BuilderArgs } from "./builder-args.js";
import { chooseFrontend, type FrontendChoice } from "./syntax.js";
import { chooseCheckOptions } from "./check-options.js";

export type StageBase =
  | { kind: "image"; ref: string }
  | { kind: "stage"; index: number }
  | { kind: "scratch" };

export interface Stage {
  index: number;
  /** lowercased `AS` name */
  name?: string;
  base: StageBase;
  /** the FROM --platform value after expansion */
  platform?: string;
  from: Instruction & { kind: "from" };
  /** every instruction after FROM, in order */
  instructions: Instruction[];
  /** indexes of earlier stages this stage needs (FROM stage, COPY --from, RUN --mount from=) */
  dependsOn: number[];
  /** image references used by COPY --from / RUN --mount from= that are not stage names */
  imageRefs: string[];
  position: Position;
}

export interface BuildGraph {
  file: string;
  stages: Stage[];
  /** the stage the build produces */
  target: number;
  /** stages the target needs, in build order (dependencies first), target last */
  reachable: number[];
  /** ARGs declared before the first FROM, with their values for this build */
  metaArgs: Map<string, string | undefined>;
  /** all build args given, and the predefined platform args */
  buildArgs: Map<string, string>;
  buildPlatform: PlatformSpec;
  targetPlatform: PlatformSpec;
  /** whether the target platform was asked for (--platform) rather than taken from this host */
  explicitPlatform: boolean;
  /** what the BUILDKIT_* build args BuildKit reads itself ask for (builder-args.ts) */
  builderArgs: BuilderArgs;
  /** the frontend the Dockerfile asks for (`# syntax=`, BUILDKIT_SYNTAX), always tsbuild's own */
  frontend: FrontendChoice;
  warnings: string[];
  escapeToken: string;
}

export interface LowerOptions {
  /** --build-arg K=V; a value of undefined means `--build-arg K` with K unset in the environment */
  buildArgs?: Map<string, string> | Record<string, string>;
  /** --target */
  target?: string;
  /** --platform (default: this host) */
  platform?: PlatformSpec;
  buildPlatform?: PlatformSpec;
}

/**
 * The frontend checks that read the Dockerfile's text before it is parsed: the frontend asked for
 * (a Dockerfile in another frontend's language is refused before the parser trips on it) and the
 * check options. Throws DockerfileError; the warnings go first in the graph's.
 */
export function frontendOf(text: string, file: string, buildArgs: ReadonlyMap<string, string>): FrontendChoice {
  const frontend = chooseFrontend(text, buildArgs, file);
  const check = chooseCheckOptions(text, buildArgs, file);
  return { ...frontend, warnings: [...frontend.warnings, ...check.warnings] };
}

/** Checks the frontend, parses and lowers in one call. */
export function loadDockerfile(text: string, file = "Dockerfile", opts: LowerOptions = {}): BuildGraph {
  const frontend = frontendOf(text, file, toMap(opts.buildArgs));
  const graph = lower(parseDockerfile(text, { file }), opts);
  graph.frontend = frontend;
  graph.warnings.unshift(...frontend.warnings);
  return graph;
}

function toMap(args: LowerOptions["buildArgs"]): Map<string, string> {
  return args instanceof Map ? new Map(args) : new Map(Object.entries(args ?? {}));
}

export function lower(parsed: ParsedDockerfile, opts: LowerOptions = {}): BuildGraph {
  const file = parsed.file;
  const buildArgs = toMap(opts.buildArgs);
  const builderArgs = readBuilderArgs(buildArgs, file);
  const buildPlatform = opts.buildPlatform ?? hostPlatform();
  // a platform the library was given is normalized as one parsed from --platform (arm64/v8 is arm64)
  const targetPlatform = (opts.platform ? parsePlatform(formatPlatform(opts.platform)) : undefined) ?? opts.platform ?? buildPlatform;
  const predefined = platformArgs(buildPlatform, targetPlatform);
  const warnings = parsed.warnings.map((w) => `${file}:${w.line}: ${w.message}`);

  const instructions = parsed.children.map((n) => toInstruction(n, file));
  const stages: Stage[] = [];
  const metaArgs = new Map<string, string | undefined>();
  const declared = new Set<string>();
  const metaLookup = (name: string): string | undefined => {
    if (metaArgs.has(name)) return metaArgs.get(name);
    return predefined.get(name);
  };
  const expandMeta = (word: string, pos: Position): string => {
    try {
      return expandWord(word, metaLookup, { escapeToken: parsed.escapeToken });
    } catch (e) {
      if (e instanceof ExpansionError) throw new DockerfileError("expansion", e.message, file, pos);
      throw e;
    }
  };

  const allNames = new Set(instructions.flatMap((i) => (i.kind === "from" && i.stageName ? [i.stageName] : [])));
  const stageCount = instructions.filter((i) => i.kind === "from").length;
  /** the first stage of each name (a second one is an error) */
  const byName = new Map<string, Stage>();
  /** dependsOn and imageRefs of the current stage, as sets: a stage may name thousands */
  let depends = new Set<number>();
  let images = new Set<string>();
  let current: Stage | undefined;
  for (const instr of instructions) {
    if (instr.kind === "from") {
      const ref = expandMeta(instr.image, instr.position);
      if (ref === "") {
        throw new DockerfileError("parse", `base name (${instr.image}) should not be blank`, file, instr.position,
          "set the ARG it uses, with a default or --build-arg");
      }
      const platform = instr.platform !== undefined ? expandMeta(instr.platform, instr.position) : undefined;
      if (platform !== undefined && platform !== "" && !parsePlatform(platform)) {
        throw new DockerfileError("parse", `failed to parse platform ${platform}`, file, instr.position, "write --platform=os/arch[/variant]");
      }
      if (instr.stageName !== undefined) {
        const dup = byName.get(instr.stageName);
        if (dup) {
          throw new DockerfileError("duplicate-stage", `duplicate stage name "${instr.stageName}"`, file, instr.position,
            `the name is already used at line ${dup.position.line}; choose another`);
        }
      }
      const lowerRef = ref.toLowerCase();
      const baseStage = byName.get(lowerRef);
      const base: StageBase = baseStage
        ? { kind: "stage", index: baseStage.index }
        : lowerRef === "scratch"
          ? { kind: "scratch" }
          : { kind: "image", ref };
      current = {
        index: stages.length,
        ...(instr.stageName !== undefined ? { name: instr.stageName } : {}),
        base,
        ...(platform ? { platform } : {}),
        from: instr,
        instructions: [],
        dependsOn: baseStage ? [baseStage.index] : [],
        imageRefs: [],
        position: instr.position,
      };
      stages.push(current);
      if (current.name !== undefined) byName.set(current.name, current);
      depends = new Set(current.dependsOn);
      images = new Set();
      continue;
    }
    if (!current) {
      if (instr.kind !== "arg") {
        throw new DockerfileError("no-from", `no build stage in current context: ${instr.kind.toUpperCase()} before FROM`, file, instr.position,
          "start the Dockerfile with FROM (only ARG may come before it)");
      }
      for (const a of instr.args) {
        declared.add(a.key);
        const fromCli = buildArgs.get(a.key);
        metaArgs.set(a.key, fromCli !== undefined ? fromCli : a.value !== undefined ? expandMeta(a.value, instr.position) : undefined);
      }
      continue;
    }
    if (instr.kind === "arg") for (const a of instr.args) declared.add(a.key);
    current.instructions.push(instr);
    for (const { ref, byIndex } of stageRefs(instr)) {
      const resolved = resolveStageRef(ref, byIndex, byName, current, allNames, stageCount);
      if (resolved.kind === "stage") {
        if (!depends.has(resolved.index)) {
          depends.add(resolved.index);
          current.dependsOn.push(resolved.index);
        }
      } else if (resolved.kind === "forward") {
        throw new DockerfileError("forward-stage-reference", `stage "${ref}" is referenced before it is defined`, file, instr.position,
          "a stage can only use stages defined above it");
      } else if (resolved.kind === "unknown") {
        throw new DockerfileError("unknown-stage", `stage index ${ref} does not exist (the Dockerfile has ${stageCount} stage${stageCount === 1 ? "" : "s"})`, file, instr.position,
          "stage indexes count FROM lines from 0");
      } else if (resolved.kind === "self") {
        throw new DockerfileError("unknown-stage", `circular dependency: stage "${ref}" refers to itself`, file, instr.position);
      } else if (!images.has(ref)) {
        images.add(ref);
        current.imageRefs.push(ref);
      }
    }
  }
  if (stages.length === 0) {
    throw new DockerfileError("no-from", "no FROM instruction in the Dockerfile", file, { line: parsed.startLine, column: 1 },
      "add FROM image (or FROM scratch)");
  }

  let target = stages.length - 1;
  if (opts.target !== undefined) {
    const t = stages.find((s) => s.name === opts.target!.toLowerCase());
    if (!t) {
      throw new DockerfileError("target-not-found", `target stage "${opts.target}" could not be found`, file, undefined,
        `stages: ${stages.map((s) => s.name ?? String(s.index)).join(", ")}`);
    }
    target = t.index;
  }
  const reachable = reachableFrom(stages, target);

  for (const k of buildArgs.keys()) {
    // SOURCE_DATE_EPOCH is read by the builder itself (reproducible timestamps), as in BuildKit
    if (!declared.has(k) && !PROXY_ARGS.has(k) && !predefined.has(k) && !BUILDER_ARGS.has(k) && k !== "SOURCE_DATE_EPOCH") {
      warnings.push(`[Warning] One or more build-args [${k}] were not consumed`);
    }
  }

  return {
    file,
    stages,
    target,
    reachable,
    metaArgs,
    buildArgs,
    buildPlatform,
    targetPlatform,
    explicitPlatform: opts.platform !== undefined,
    builderArgs,
    frontend: { from: "default", warnings: [] },
    warnings,
    escapeToken: parsed.escapeToken,
  };
}

/**
 * The raw stage/image references an instruction uses: COPY --from (a stage by name or index) and
 * RUN --mount from= (a stage by name only, as BuildKit: `from=0` names an image).
 */
function stageRefs(instr: Instruction): { ref: string; byIndex: boolean }[] {
  if (instr.kind === "copy" && instr.from !== undefined) return [{ ref: instr.from, byIndex: true }];
  if (instr.kind === "run") {
    const out: { ref: string; byIndex: boolean }[] = [];
    for (const m of instr.mountFlags) {
      // the last from= wins, as when the mount is typed (mount-spec.ts); values are not yet expanded
      let from: string | undefined;
      for (const f of m.fields) if (f.key.toLowerCase() === "from" && f.value !== undefined) from = f.value;
      if (from) out.push({ ref: from, byIndex: false });
    }
    return out;
  }
  return [];
}

function resolveStageRef(ref: string, byIndex: boolean, byName: ReadonlyMap<string, Stage>, current: Stage, allNames: ReadonlySet<string>, stageCount: number):
  { kind: "stage"; index: number } | { kind: "forward" } | { kind: "self" } | { kind: "image" } | { kind: "unknown" } {
  if (byIndex && /^\d+$/.test(ref)) {
    const i = Number(ref);
    if (i >= stageCount) return { kind: "unknown" };
    if (i < current.index) return { kind: "stage", index: i };
    if (i === current.index) return { kind: "self" };
    return { kind: "forward" };
  }
  const name = ref.toLowerCase();
  const s = byName.get(name);
  if (s) return s.index === current.index ? { kind: "self" } : { kind: "stage", index: s.index };
  if (allNames.has(name)) return { kind: "forward" };
  return { kind: "image" };
}

/** Depth-first post-order from the target, without recursion (a chain of stages can be 100k long). */
export function reachableFrom(stages: Stage[], target: number): number[] {
  const seen = new Set<number>([target]);
  const order: number[] = [];
  const stack: { index: number; next: number }[] = [{ index: target, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { index: number; next: number };
    const deps = (stages[top.index] as Stage).dependsOn;
    if (top.next < deps.length) {
      const d = deps[top.next++] as number;
      if (!seen.has(d)) {
        seen.add(d);
        stack.push({ index: d, next: 0 });
      }
      continue;
    }
    stack.pop();
    order.push(top.index);
  }
  return order;
}

/** The ARG declarations of a stage, in order (for tools and tests). */
export function stageArgs(stage: Stage): ArgInstruction[] {
  return stage.instructions.filter((i): i is ArgInstruction => i.kind === "arg");
}
