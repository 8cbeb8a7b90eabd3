import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const pullCommand: Command = {
  name: "pull",
  summary: "pull an image from a registry",
  usage: "tsbuild pull REF",
  async run(_argv, io) {
    io.stderr.write("tsbuild pull: not implemented yet\n");
    return EXIT_USAGE;
  },
};
