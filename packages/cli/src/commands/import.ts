import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const importCommand: Command = {
  name: "import",
  summary: "make a one-layer image from a root file system tarball",
  usage: "tsbuild import FILE|- NAME [-c INSTRUCTION]...",
  async run(_argv, io) {
    io.stderr.write("tsbuild import: not implemented yet\n");
    return EXIT_USAGE;
  },
};
