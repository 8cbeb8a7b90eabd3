import { prune } from "@tsbuild/engine";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { flag, list, parseArgs, str, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { humanSize } from "../format.js";
import { parseDuration, parseSize } from "../units.js";

const OPTIONS = [
  ROOT_OPTION,
  { name: "all", short: "a", help: "remove the whole build cache, RUN cache mounts, listings, the context index and compressed layer copies (images stay)" },
  { name: "keep-storage", value: true, arg: "SIZE", help: "remove the least recently used records until the build cache fits in SIZE (e.g. 5GB)" },
  { name: "filter", value: true, repeat: true, arg: "until=DURATION", help: "only records last used longer ago than DURATION (90m, 24h)" },
  { name: "force", short: "f", help: "accepted for docker's scripts (tsbuild never asks)" },
];

export const pruneCommand: Command = {
  name: "prune",
  summary: "remove build cache (images stay) and blobs nothing needs",
  usage: "tsbuild prune [--all] [--keep-storage SIZE] [--filter until=DURATION] [--root DIR]",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
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
