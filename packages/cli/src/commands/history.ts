import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { flag, parseArgs, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { findImage } from "../image-lookup.js";
import { humanSize, table, timeAgo } from "../format.js";

const OPTIONS = [ROOT_OPTION, { name: "no-trunc", help: "print whole created-by texts" }];

export const historyCommand: Command = {
  name: "history",
  summary: "show an image's history, one row per entry (like docker history)",
  usage: "tsbuild history [--root DIR] [--no-trunc] IMAGE",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const ref = args.positionals[0];
    if (!ref || args.positionals.length > 1) throw new UsageError("name one image");
    const store = await openStore(args, io);
    const { image } = await findImage(store, ref);
    const history = image.config.history ?? [];
    const layers = [...image.manifest.layers];
    const rows: string[][] = [];
    let layerIndex = layers.length;
    // newest first, as docker prints it; each non-empty entry owns the next layer from the top
    for (let i = history.length - 1; i >= 0; i--) {
      const h = history[i]!;
      const size = h.empty_layer ? 0 : (layers[--layerIndex]?.size ?? 0);
      let by = h.created_by ?? "";
      if (!flag(args, "no-trunc") && by.length > 45) by = by.slice(0, 44) + "…";
      rows.push([i === history.length - 1 ? image.manifest.config.digest.slice(7, 19) : "<missing>", timeAgo(h.created), by, humanSize(size), h.comment ?? ""]);
    }
    io.stdout.write(table([["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], ...rows]));
    return EXIT_OK;
  },
};
