import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const loginCommand: Command = {
  name: "login",
  summary: "log in to a registry",
  usage: "tsbuild login HOST [-u USER] [--password-stdin]",
  async run(_argv, io) {
    io.stderr.write("tsbuild login: not implemented yet\n");
    return EXIT_USAGE;
  },
};
