import { familiarName } from "@tsbuild/oci";
import { parsePlatform } from "@tsbuild/dockerfile";
import { pull } from "@tsbuild/registry";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { flag, parseArgs, str, UsageError } from "../args.js";
import { ROOT_OPTION, withStoreSession } from "../store-options.js";
import { clientOptions, INSECURE_OPTION } from "../registry-options.js";

const OPTIONS = [
  ROOT_OPTION,
  INSECURE_OPTION,
  { name: "platform", value: true, arg: "OS/ARCH[/VARIANT]", help: "which image of an index to pull", default: "this host's" },
  { name: "quiet", short: "q", help: "print only the image's name" },
];

export const pullCommand: Command = {
  name: "pull",
  summary: "pull an image from a registry into the store",
  usage: "tsbuild pull [--platform OS/ARCH[/VARIANT]] [--insecure-registry HOST] [--root DIR] REF",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const ref = args.positionals[0];
    if (!ref || args.positionals.length !== 1) throw new UsageError("name one image reference");
    const p = str(args, "platform");
    const platform = p !== undefined ? parsePlatform(p) : undefined;
    if (p !== undefined && !platform) throw new UsageError(`bad --platform ${p}`);
    const r = await withStoreSession(args, io, "pull", (store) => pull(store, ref, { ...clientOptions(args, io), ...(platform ? { platform } : {}) }));
    // -q: only the name, as docker pull -q prints it
    if (flag(args, "quiet")) io.stdout.write(`${r.name}\n`);
    else io.stdout.write(`${familiarName(r.name)}: ${r.downloaded === 0 ? "up to date" : `pulled ${r.downloaded} blobs`}\nDigest: ${r.manifest.digest}\n`);
    return EXIT_OK;
  },
};
