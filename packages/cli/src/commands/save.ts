import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { writeDockerArchive, writeOciLayout } from "@tsbuild/oci";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { parseArgs, str, UsageError } from "../args.js";
import { openStore, ROOT_OPTION } from "../store-options.js";
import { findImage } from "../image-lookup.js";

const OPTIONS = [
  ROOT_OPTION,
  { name: "output", short: "o", value: true, arg: "FILE", help: "the archive to write" },
  { name: "format", value: true, arg: "oci|docker", help: "docker's archive (docker load, podman load), or an OCI image layout tar", default: "docker" },
];

export const saveCommand: Command = {
  name: "save",
  summary: "write images to an archive (OCI layout tar, or docker-archive for docker load)",
  usage: "tsbuild save [--root DIR] IMAGE... -o FILE [--format oci|docker]",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const output = str(args, "output");
    if (!output) throw new UsageError("give the archive file with -o FILE");
    if (args.positionals.length === 0) throw new UsageError("name at least one image");
    const format = str(args, "format") ?? "docker";
    if (format !== "oci" && format !== "docker") throw new UsageError(`unknown --format ${format} (oci or docker)`);
    const store = await openStore(args, io);
    const images = [];
    for (const ref of args.positionals) {
      const { record } = await findImage(store, ref);
      images.push({ name: record.name, target: record.target });
    }
    const dest = resolve(io.cwd, output);
    if (format === "oci") await writeOciLayout(store.content, images, dest, { tar: true });
    else {
      const scratch = await store.tmpDir("save-");
      try {
        await writeDockerArchive(store.content, images, dest, scratch);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    }
    return EXIT_OK;
  },
};
