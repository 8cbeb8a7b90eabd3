import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const imagesCommand: Command = {
  name: "images",
  summary: "list images in the store",
  usage: "tsbuild images [--root DIR]",
  async run(_argv, io) {
    io.stderr.write("tsbuild images: not implemented yet\n");
    return EXIT_USAGE;
  },
};
