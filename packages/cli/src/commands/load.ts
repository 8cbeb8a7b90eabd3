import { resolve } from "node:path";
import { familiarName, readArchive } from "@tsbuild/oci";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { parseArgs, str, UsageError } from "../args.js";
import { ROOT_OPTION, withStoreSession } from "../store-options.js";

const OPTIONS = [ROOT_OPTION, { name: "input", short: "i", value: true, arg: "FILE", help: "the archive: an OCI layout (tar or directory) or a docker archive" }];

export const loadCommand: Command = {
  name: "load",
  summary: "load images from an archive (OCI layout, tar or directory, or docker-archive)",
  usage: "tsbuild load [--root DIR] -i FILE",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const input = str(args, "input");
    if (!input) throw new UsageError("give the archive with -i FILE");
    await withStoreSession(args, io, "load", async (store) => {
      // every image is verified before any is named; then all are named at once
      const images = await readArchive(store.content, resolve(io.cwd, input));
      await store.images.putAll(images.flatMap((img) => (img.name ? [{ name: img.name, target: img.target }] : [])));
      for (const img of images) {
        if (img.name) io.stdout.write(`Loaded image: ${familiarName(img.name)}\n`);
        else io.stdout.write(`Loaded image ID: ${img.target.digest} (unnamed: tag it with tsbuild tag)\n`);
      }
    });
    return EXIT_OK;
  },
};
