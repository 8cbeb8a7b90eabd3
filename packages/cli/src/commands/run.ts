import { runImage } from "@tsbuild/engine";
import { parsePlatform } from "@tsbuild/dockerfile";
import type { Command } from "../command.js";
import { parseArgs, str, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { findImage } from "../image-lookup.js";

const OPTIONS = [
  ROOT_OPTION,
  { name: "rm", help: "accepted for docker's scripts: the container is always removed" },
  { name: "network", value: true, arg: "default|host|none", help: "the container's network", default: "default (the host's)" },
  { name: "platform", value: true, arg: "OS/ARCH[/VARIANT]", help: "which image of a multi-platform image to run (another platform's through its emulator)", default: "this host's" },
];

export const runCommand: Command = {
  name: "run",
  summary: "run an image's entrypoint/cmd in a throwaway container",
  usage: "tsbuild run [--rm] [--network default|host|none] [--platform OS/ARCH] [--root DIR] IMAGE [CMD...]",
  options: OPTIONS,
  async run(argv, io) {
    // options end at the image name: what follows is the command
    const first = argv.findIndex((a, i) => !a.startsWith("-") && !(i > 0 && ["--root", "--network", "--platform"].includes(argv[i - 1] as string)));
    const own = first === -1 ? argv : argv.slice(0, first);
    const rest = first === -1 ? [] : argv.slice(first);
    const args = parseArgs(own, OPTIONS);
    const [image, ...cmd] = rest;
    if (!image) throw new UsageError("name the image to run");
    const store = await openStore(args, io);
    const { record } = await findImage(store, image);
    const network = (str(args, "network") ?? "default") as "default" | "host" | "none";
    const p = str(args, "platform");
    const platform = p !== undefined ? parsePlatform(p) : undefined;
    if (p !== undefined && !platform) throw new UsageError(`bad --platform ${p}`);
    return runImage({ store, target: record.target, name: record.name, cmd, network, ...(platform ? { platform } : {}), onOutput: (s, c) => (s === "stdout" ? io.stdout : io.stderr).write(c) });
  },
};
