import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const tagCommand: Command = {
  name: "tag",
  summary: "name an image",
  usage: "tsbuild tag SRC DST",
  async run(_argv, io) {
    io.stderr.write("tsbuild tag: not implemented yet\n");
    return EXIT_USAGE;
  },
};
