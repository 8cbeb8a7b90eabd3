import { compressImage, familiarName } from "@tsbuild/oci";
import { push } from "@tsbuild/registry";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { parseArgs, str, UsageError } from "../args.js";
import { COMPRESSION_OPTION, parseCompression } from "../compression-option.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { clientOptions, INSECURE_OPTION } from "../registry-options.js";
import { findImage } from "../image-lookup.js";

const OPTIONS = [ROOT_OPTION, INSECURE_OPTION, COMPRESSION_OPTION];

export const pushCommand: Command = {
  name: "push",
  summary: "push an image from the store to a registry",
  usage: "tsbuild push [--compression gzip|zstd|uncompressed] [--insecure-registry HOST] [--root DIR] IMAGE [DEST-REF]",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const [ref, dest] = args.positionals;
    if (!ref || args.positionals.length > 2) throw new UsageError("name the image (and optionally where to push it)");
    const store = await openStore(args, io);
    const { record } = await findImage(store, ref);
    // layers are stored uncompressed; they travel compressed (gzip unless --compression says otherwise)
    const target = await compressImage(store, record.target, parseCompression(str(args, "compression")));
    const r = await push(store, target, dest ?? record.name, clientOptions(args, io));
    io.stdout.write(`${familiarName(dest ?? record.name)}: ${r.uploaded} uploaded, ${r.mounted} mounted, ${r.existing} already there\ndigest: ${r.digest}\n`);
    return EXIT_OK;
  },
};
