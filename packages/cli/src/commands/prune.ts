import { prune } from "@tsbuild/engine";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { flag, list, parseArgs, str, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { humanSize } from "../format.js";
import { parseDuration, parseSize } from "../units.js";

export const pruneCommand: Command = {
  name: "prune",
  summary: "remove build cache (images stay) and blobs nothing needs",
  usage: "tsbuild prune [--all] [--keep-storage SIZE] [--filter until=DURATION] [--root DIR]",
  async run(argv, io) {
    const args = parseArgs(argv, [ROOT_OPTION, { name: "all", short: "a" }, { name: "keep-storage", value: true }, { name: "filter", value: true, repeat: true }, { name: "force", short: "f" }]);
    if (args.positionals.length) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
    let untilMs: number | undefined;
    for (const f of list(args, "filter")) {
      const m = /^until=(.+)$/.exec(f);
      if (!m) throw new UsageError(`unsupported filter "${f}" (supported: until=DURATION, e.g. until=24h)`);
      untilMs = parseDuration(m[1] as string);
    }
    const keep = str(args, "keep-storage");
    const store = await openStore(args, io);
    const r = await prune({
      root: store.root, all: flag(args, "all"),
      ...(untilMs !== undefined ? { untilMs } : {}), ...(keep !== undefined ? { keepStorage: parseSize(keep) } : {}),
    });
    const lines = [
      `Deleted build cache records: ${r.records}`,
      `Deleted snapshots: ${r.snapshots}`,
      `Deleted cache mounts: ${r.mounts}`,
      `Deleted leftovers of interrupted builds: ${r.leftovers}`,
      `Deleted blobs: ${r.blobs}`,
      ...r.notes.map((n) => `Note: ${n}`),
      `Total reclaimed space: ${humanSize(r.reclaimed)}`,
    ];
    io.stdout.write(lines.join("\n") + "\n");
    return EXIT_OK;
  },
};
