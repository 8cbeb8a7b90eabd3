import { familiarName, resolveImage } from "@tsbuild/oci";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { flag, parseArgs } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { humanSize, table, timeAgo } from "../format.js";

const OPTIONS = [ROOT_OPTION, { name: "quiet", short: "q", help: "print only image ids" }];

export const imagesCommand: Command = {
  name: "images",
  summary: "list images in the store",
  usage: "tsbuild images [--root DIR] [-q]",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const store = await openStore(args, io);
    const rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]];
    for (const r of await store.images.list()) {
      const img = await resolveImage(store.content, r.target);
      const short = familiarName(r.name);
      const colon = short.lastIndexOf(":");
      const size = img.manifest.layers.reduce((n, l) => n + l.size, 0);
      const id = img.manifest.config.digest.slice(7, 19);
      if (flag(args, "quiet")) {
        io.stdout.write(`${id}\n`);
        continue;
      }
      rows.push([short.slice(0, colon), short.slice(colon + 1), id, timeAgo(img.config.created), humanSize(size)]);
    }
    if (!flag(args, "quiet")) io.stdout.write(table(rows));
    return EXIT_OK;
  },
};
