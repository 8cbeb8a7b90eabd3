import { familiarName, resolveImage } from "@tsbuild/oci";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { flag, parseArgs } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { humanSize, table, timeAgo } from "../format.js";
import { indexOf } from "../image-lookup.js";
import { formatPlatform } from "@tsbuild/dockerfile";

const OPTIONS = [ROOT_OPTION, { name: "quiet", short: "q", help: "print only image ids" }];

export const imagesCommand: Command = {
  name: "images",
  summary: "list images in the store",
  usage: "tsbuild images [--root DIR] [-q]",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const store = await openStore(args, io);
    const rows: string[][] = [];
    let anyIndex = false;
    for (const r of await store.images.list()) {
      const short = familiarName(r.name);
      const colon = short.lastIndexOf(":");
      // an index (a multi-platform build): its own digest as the id, every platform's layers as its size
      const index = await indexOf(store, r.target);
      const images = index ? index.platforms.flatMap((p) => (p.image ? [p.image] : [])) : [await resolveImage(store.content, r.target)];
      const first = images[0];
      const size = images.reduce((n, img) => n + img.manifest.layers.reduce((m, l) => m + l.size, 0), 0);
      const id = (index ? r.target.digest : (first?.manifest.config.digest ?? r.target.digest)).slice(7, 19);
      if (flag(args, "quiet")) {
        io.stdout.write(`${id}\n`);
        continue;
      }
      if (index) anyIndex = true;
      const platforms = index ? index.platforms.map((p) => p.platform).join(",") : first ? formatPlatform(first.config) : "";
      rows.push([short.slice(0, colon), short.slice(colon + 1), id, timeAgo(first?.config.created), humanSize(size), platforms]);
    }
    // the PLATFORMS column only where an image is an index
    const header = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", ...(anyIndex ? ["PLATFORMS"] : [])];
    if (!flag(args, "quiet")) io.stdout.write(table([header, ...rows.map((r) => (anyIndex ? r : r.slice(0, 5)))]));
    return EXIT_OK;
  },
};
