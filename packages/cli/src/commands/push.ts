import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const pushCommand: Command = {
  name: "push",
  summary: "push an image to a registry",
  usage: "tsbuild push REF",
  async run(_argv, io) {
    io.stderr.write("tsbuild push: not implemented yet\n");
    return EXIT_USAGE;
  },
};
