import { existsSync, mkdirSync } from "node:fs";
import { runImage } from "@tsbuild/engine";
import { parsePlatform } from "@tsbuild/dockerfile";
import type { Command } from "../command.js";
import { list, parseArgs, str, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { findImage } from "../image-lookup.js";
import { imageIndex, parseEnv, parseVolume } from "../run-flags.js";

const OPTIONS = [
  ROOT_OPTION,
  { name: "rm", help: "accepted for docker's scripts: the container is always removed" },
  { name: "network", value: true, arg: "default|host|none", help: "the container's network", default: "default (the host's)" },
  { name: "platform", value: true, arg: "OS/ARCH[/VARIANT]", help: "which image of a multi-platform image to run (another platform's through its emulator)", default: "this host's" },
  { name: "volume", short: "v", value: true, repeat: true, arg: "SRC:DST[:ro]", help: "bind the host path SRC (absolute; made as a directory when missing) at DST, read-only with :ro" },
  { name: "env", short: "e", value: true, repeat: true, arg: "NAME[=VALUE]", help: "set a variable over the image's (NAME alone: its value here, if it has one)" },
  { name: "user", short: "u", value: true, arg: "USER[:GROUP]", help: "the user the command runs as (a name or id of the image's /etc/passwd, as USER)", default: "the image's USER" },
  { name: "security-opt", value: true, repeat: true, arg: "systempaths=unconfined", help: "no masked or read-only /proc and /sys paths (as docker's): what a rootless tsbuild in the container needs to mount its /proc" },
  { name: "entrypoint", value: true, arg: "PROGRAM", help: "run PROGRAM instead of the image's ENTRYPOINT (the image's CMD is dropped: the command after IMAGE is its arguments)" },
  { name: "workdir", short: "w", value: true, arg: "DIR", help: "the command's working directory (absolute; made when missing)", default: "the image's WORKDIR" },
];

export const runCommand: Command = {
  name: "run",
  summary: "run an image's entrypoint/cmd in a throwaway container",
  usage: "tsbuild run [--rm] [-v SRC:DST[:ro]]... [-e NAME[=VALUE]]... [-u USER] [-w DIR] [--entrypoint PROGRAM] [--security-opt systempaths=unconfined] [--network default|host|none] [--platform OS/ARCH] [--root DIR] IMAGE [CMD...]",
  options: OPTIONS,
  async run(argv, io) {
    // options end at the image name: what follows is the command
    const first = imageIndex(argv, OPTIONS);
    const own = first === -1 ? argv : argv.slice(0, first).filter((a, i, all) => !(a === "--" && i === all.length - 1));
    const rest = first === -1 ? [] : argv.slice(first);
    const args = parseArgs(own, OPTIONS);
    const [image, ...cmd] = rest;
    if (!image) throw new UsageError("name the image to run");
    const volumes = list(args, "volume").map(parseVolume);
    const env = list(args, "env").flatMap((e) => parseEnv(e, io.env) ?? []);
    const workdir = str(args, "workdir");
    if (workdir !== undefined && !workdir.startsWith("/")) throw new UsageError(`-w ${workdir}: the working directory must be an absolute path`);
    const entrypoint = str(args, "entrypoint");
    let systemPaths: "masked" | "unconfined" | undefined;
    for (const o of list(args, "security-opt")) {
      const m = /^systempaths[=:](unconfined)$/.exec(o);
      if (!m) throw new UsageError(`--security-opt ${o}: tsbuild run knows only systempaths=unconfined (it applies no seccomp or AppArmor profile)`);
      systemPaths = "unconfined";
    }
    const user = str(args, "user");
    if (user === "") throw new UsageError("-u needs a user");
    const network = str(args, "network") ?? "default";
    if (network !== "default" && network !== "host" && network !== "none") throw new UsageError(`--network ${network}: use default, host or none`);
    const p = str(args, "platform");
    const platform = p !== undefined ? parsePlatform(p) : undefined;
    if (p !== undefined && !platform) throw new UsageError(`bad --platform ${p}`);
    const store = await openStore(args, io);
    const { record } = await findImage(store, image);
    // docker run -v makes a missing host path as a directory (docker's daemon, as root: here the caller)
    for (const v of volumes) if (!existsSync(v.source)) mkdirSync(v.source, { recursive: true });
    return runImage({
      store, target: record.target, name: record.name, cmd, network, ...(platform ? { platform } : {}),
      mounts: volumes, env, ...(systemPaths ? { systemPaths } : {}), ...(entrypoint !== undefined ? { entrypoint: entrypoint === "" ? [] : [entrypoint] } : {}), ...(user !== undefined ? { user } : {}), ...(workdir !== undefined ? { workdir } : {}),
      onOutput: (s, c) => (s === "stdout" ? io.stdout : io.stderr).write(c),
    });
  },
};
