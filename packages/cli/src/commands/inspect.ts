import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { parseArgs, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { findImage } from "../image-lookup.js";

const OPTIONS = [ROOT_OPTION];

export const inspectCommand: Command = {
  name: "inspect",
  summary: "print an image's manifest and config as JSON",
  usage: "tsbuild inspect [--root DIR] IMAGE...",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    if (args.positionals.length === 0) throw new UsageError("name at least one image");
    const store = await openStore(args, io);
    const out = [];
    for (const ref of args.positionals) {
      const { record, image } = await findImage(store, ref);
      out.push({
        Name: record.name,
        Id: image.manifest.config.digest,
        ManifestDigest: image.manifestDescriptor.digest,
        Manifest: image.manifest,
        Config: image.config,
      });
    }
    io.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return EXIT_OK;
  },
};
