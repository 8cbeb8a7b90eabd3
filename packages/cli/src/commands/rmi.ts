import { familiarName, ImageNotFoundError } from "@tsbuild/oci";
import type { Command } from "../command.js";
import { EXIT_FAILED, EXIT_OK } from "../command.js";
import { parseArgs, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";

const OPTIONS = [ROOT_OPTION];

export const rmiCommand: Command = {
  name: "rmi",
  summary: "remove image names (blobs go at the next tsbuild prune)",
  usage: "tsbuild rmi [--root DIR] IMAGE...",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    if (args.positionals.length === 0) throw new UsageError("name at least one image");
    const store = await openStore(args, io);
    let code = EXIT_OK;
    for (const ref of args.positionals) {
      if (await store.images.remove(ref)) io.stdout.write(`Untagged: ${familiarName(ref)}\n`);
      else {
        io.stderr.write(`tsbuild rmi: ${new ImageNotFoundError(ref).message}\n`);
        code = EXIT_FAILED;
      }
    }
    return code;
  },
};
