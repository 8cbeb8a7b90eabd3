import type { Command } from "../command.js";
import { EXIT_FAILED, EXIT_OK } from "../command.js";
import { flag, parseArgs, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";

const OPTIONS = [ROOT_OPTION, { name: "repair", help: "drop what the check found broken" }];

export const storeCommand: Command = {
  name: "store",
  summary: "verify every blob's digest and every image's references (check [--repair])",
  usage: "tsbuild store check [--repair] [--root DIR]",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    if (args.positionals[0] !== "check" || args.positionals.length !== 1) throw new UsageError("the only store command is: check");
    const store = await openStore(args, io);
    const r = await store.check(flag(args, "repair"));
    for (const d of r.corrupt) io.stdout.write(`corrupt blob: ${d}${r.repaired ? " (removed)" : ""}\n`);
    for (const m of r.missing) io.stdout.write(`missing blob: ${m.digest} (needed by ${m.name}${r.repaired ? ", name removed" : ""})\n`);
    const bad = r.corrupt.length + r.missing.length;
    io.stdout.write(`${r.blobs} blobs checked, ${r.corrupt.length} corrupt, ${r.missing.length} missing${bad && !r.repaired ? " (run tsbuild store check --repair)" : ""}\n`);
    return bad === 0 || r.repaired ? EXIT_OK : EXIT_FAILED;
  },
};
