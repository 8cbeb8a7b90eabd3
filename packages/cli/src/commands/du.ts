import { diskUsage } from "@tsbuild/engine";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { parseArgs } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { humanSize, table } from "../format.js";

const OPTIONS = [ROOT_OPTION];

export const duCommand: Command = {
  name: "du",
  summary: "show how much disk the store uses, and what prune --all would reclaim",
  usage: "tsbuild du [--root DIR]",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const store = await openStore(args, io);
    const u = await diskUsage({ root: store.root });
    const pct = (part: number, whole: number) => (whole > 0 ? ` (${Math.round((part / whole) * 100)}%)` : "");
    io.stdout.write(table([
      ["TYPE", "COUNT", "SIZE", "RECLAIMABLE"],
      ...u.rows.map((r) => [r.type, String(r.count), humanSize(r.size), `${humanSize(r.reclaimable)}${pct(r.reclaimable, r.size)}`]),
      ["Total", "", humanSize(u.total), `${humanSize(u.reclaimable)}${pct(u.reclaimable, u.total)}`],
    ]));
    if (u.running) io.stdout.write(`${u.running} build(s) running: what they use is not counted as reclaimable\n`);
    io.stdout.write(`store: ${store.root}\n`);
    return EXIT_OK;
  },
};
