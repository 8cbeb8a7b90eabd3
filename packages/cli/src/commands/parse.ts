import { resolve } from "node:path";
import { DockerfileError, dumpBuildkit, frontendOf, lower, parseDockerfile, parsePlatform } from "@tsbuild/dockerfile";
import type { Command } from "../command.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../command.js";
import { flag, list, parseArgs, str, UsageError } from "../args.js";
import { parseBuildArgs } from "../build-args.js";
import { readTextInput } from "../read-input.js";

const USAGE = "tsbuild parse [-f FILE] [--format buildkit-dump|json] [--target S] [--build-arg K=V] [--platform OS/ARCH]";

const OPTIONS = [
  { name: "file", short: "f", value: true, arg: "FILE", help: "the Dockerfile (- reads standard input)", default: "./Dockerfile" },
  { name: "format", value: true, arg: "buildkit-dump|json", help: "BuildKit's parser dump, or the lowered build graph as JSON", default: "buildkit-dump" },
  { name: "target", value: true, arg: "STAGE", help: "the stage the graph is built up to" },
  { name: "build-arg", value: true, repeat: true, arg: "K=V", help: "a build arg (K alone takes it from the environment)" },
  { name: "platform", value: true, arg: "OS/ARCH[/VARIANT]", help: "the platform of the TARGET*/BUILD* args", default: "this host's" },
];

export const parseCommand: Command = {
  name: "parse",
  summary: "print the parsed Dockerfile (BuildKit's dump format, or the build graph as JSON)",
  usage: USAGE,
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const format = str(args, "format") ?? "buildkit-dump";
    if (format !== "buildkit-dump" && format !== "json") throw new UsageError(`unknown --format ${format} (buildkit-dump or json)`);
    const fileArg = str(args, "file") ?? "Dockerfile";
    const file = fileArg === "-" ? "-" : resolve(io.cwd, fileArg);
    const platformArg = str(args, "platform");
    const platform = platformArg !== undefined ? parsePlatform(platformArg) : undefined;
    if (platformArg !== undefined && !platform) throw new UsageError(`bad --platform ${platformArg} (write os/arch[/variant])`);

    let text: string;
    try {
      text = await readTextInput(file, io.stdin);
    } catch (e) {
      io.stderr.write(`tsbuild parse: cannot read ${fileArg}: ${(e as Error).message}\n`);
      return EXIT_FAILED;
    }
    const display = fileArg === "-" ? "Dockerfile" : fileArg;
    try {
      // buildkit-dump is the parser's view (as BuildKit's parser tests): syntax errors only.
      // json is the lowered graph: the frontend (# syntax=, # check=), every instruction, flag and
      // stage reference is checked.
      if (format === "buildkit-dump") {
        io.stdout.write(dumpBuildkit(parseDockerfile(text, { file: display })));
        return EXIT_OK;
      }
      const buildArgs = parseBuildArgs(list(args, "build-arg"), io.env);
      const frontend = frontendOf(text, display, buildArgs);
      const target = str(args, "target");
      const graph = lower(parseDockerfile(text, { file: display }), {
        buildArgs,
        ...(target !== undefined ? { target } : {}),
        ...(platform ? { platform } : {}),
      });
      graph.frontend = frontend;
      graph.warnings.unshift(...frontend.warnings);
      for (const w of graph.warnings) io.stderr.write(`${w}\n`);
      io.stdout.write(JSON.stringify(graph, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v), 2) + "\n");
      return EXIT_OK;
    } catch (e: unknown) {
      if (e instanceof DockerfileError) {
        io.stderr.write(`${e.message}\n`);
        return EXIT_USAGE;
      }
      throw e;
    }
  },
};
