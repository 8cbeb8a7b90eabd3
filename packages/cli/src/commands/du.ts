import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { parseArgs } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { humanSize, table } from "../format.js";

export const duCommand: Command = {
  name: "du",
  summary: "show how much disk the store uses",
  usage: "tsbuild du [--root DIR]",
  async run(argv, io) {
    const args = parseArgs(argv, [ROOT_OPTION]);
    const store = await openStore(args, io);
    const referenced = new Set<string>();
    for (const r of await store.images.list()) for (const d of await store.closure(r.target)) referenced.add(d);
    let total = 0;
    let count = 0;
    let reclaimable = 0;
    for await (const b of store.content.walk()) {
      total += b.size;
      count++;
      if (!referenced.has(b.digest)) reclaimable += b.size;
    }
    const images = (await store.images.list()).length;
    io.stdout.write(table([
      ["TYPE", "COUNT", "SIZE", "RECLAIMABLE"],
      ["Images", String(images), "", ""],
      ["Blobs", String(count), humanSize(total), humanSize(reclaimable)],
    ]));
    io.stdout.write(`store: ${store.root}\n`);
    return EXIT_OK;
  },
};
