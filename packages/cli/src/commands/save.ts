import type { Command } from "../command.js";
import { EXIT_USAGE } from "../command.js";

export const saveCommand: Command = {
  name: "save",
  summary: "write images to an archive",
  usage: "tsbuild save IMAGE... -o FILE [--format oci|docker]",
  async run(_argv, io) {
    io.stderr.write("tsbuild save: not implemented yet\n");
    return EXIT_USAGE;
  },
};
