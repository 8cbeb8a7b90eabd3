import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const storeCommand: Command = {
  name: "store",
  summary: "verify the store",
  usage: "tsbuild store check [--repair]",
  async run(_argv, io) {
    io.stderr.write("tsbuild store: not implemented yet\n");
    return EXIT_USAGE;
  },
};
