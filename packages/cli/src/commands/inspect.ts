import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { parseArgs, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { findImage, indexOf } from "../image-lookup.js";

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
      const index = await indexOf(store, record.target);
      out.push({
        Name: record.name,
        // an index (a multi-platform image): its digest is the image's id, each platform listed
        Id: index ? record.target.digest : image.manifest.config.digest,
        ManifestDigest: index ? record.target.digest : image.manifestDescriptor.digest,
        ...(index ? {
          Index: index.index,
          Platforms: index.platforms.map((p) => ({ Platform: p.platform, ManifestDigest: p.descriptor.digest, ...(p.image ? { Id: p.image.manifest.config.digest, Config: p.image.config } : { Missing: "not in the store (pull it with --platform)" }) })),
        } : { Manifest: image.manifest, Config: image.config }),
      });
    }
    io.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return EXIT_OK;
  },
};
