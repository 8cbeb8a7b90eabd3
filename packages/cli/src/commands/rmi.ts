import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const rmiCommand: Command = {
  name: "rmi",
  summary: "remove image names",
  usage: "tsbuild rmi IMAGE...",
  async run(_argv, io) {
    io.stderr.write("tsbuild rmi: not implemented yet\n");
    return EXIT_USAGE;
  },
};
