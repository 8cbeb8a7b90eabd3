import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const parseCommand: Command = {
  name: "parse",
  summary: "print the parsed Dockerfile",
  usage: "tsbuild parse [-f FILE] [--format buildkit-dump|json] [--target S] [--build-arg K=V]",
  async run(_argv, io) {
    io.stderr.write("tsbuild parse: not implemented yet\n");
    return EXIT_USAGE;
  },
};
