import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { parseArgs, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { findImage } from "../image-lookup.js";

const OPTIONS = [ROOT_OPTION];

export const tagCommand: Command = {
  name: "tag",
  summary: "give an image another name",
  usage: "tsbuild tag [--root DIR] SOURCE TARGET",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const [src, dst] = args.positionals;
    if (!src || !dst || args.positionals.length !== 2) throw new UsageError("name a source image and a target name");
    const store = await openStore(args, io);
    const { record } = await findImage(store, src);
    await store.images.put(dst, record.target);
    return EXIT_OK;
  },
};
