import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const duCommand: Command = {
  name: "du",
  summary: "show store disk use",
  usage: "tsbuild du",
  async run(_argv, io) {
    io.stderr.write("tsbuild du: not implemented yet\n");
    return EXIT_USAGE;
  },
};
