import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const historyCommand: Command = {
  name: "history",
  summary: "show an image's history",
  usage: "tsbuild history IMAGE",
  async run(_argv, io) {
    io.stderr.write("tsbuild history: not implemented yet\n");
    return EXIT_USAGE;
  },
};
