import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const loadCommand: Command = {
  name: "load",
  summary: "load images from an archive",
  usage: "tsbuild load -i FILE",
  async run(_argv, io) {
    io.stderr.write("tsbuild load: not implemented yet\n");
    return EXIT_USAGE;
  },
};
