import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const inspectCommand: Command = {
  name: "inspect",
  summary: "print an image's manifest and config as JSON",
  usage: "tsbuild inspect IMAGE",
  async run(_argv, io) {
    io.stderr.write("tsbuild inspect: not implemented yet\n");
    return EXIT_USAGE;
  },
};
