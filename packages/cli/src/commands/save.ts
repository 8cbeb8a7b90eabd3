import { rm } from "node:fs/promises";
import { resolve } from "node:path";
import { familiarName, writeDockerArchive, writeOciLayout } from "@tsbuild/oci";
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
        // a multi-platform image makes it Docker 25+'s form: the whole index as an OCI layout, the host's image in manifest.json
        for (const n of await writeDockerArchive(store.content, images, dest, scratch)) {
          const name = n.name.startsWith("sha256:") ? n.name : familiarName(n.name);
          io.stderr.write(n.loaded
            ? `${name} is a multi-platform image (${n.platforms.join(", ")}): the archive holds all of it as an OCI layout (tsbuild load, docker load with the containerd image store, podman load); docker load with docker's own image store loads its ${n.loaded} image\n`
            : `${name} is a multi-platform image (${n.platforms.join(", ")}) with no image for this host: the archive holds it as an OCI layout (tsbuild load, docker load with the containerd image store, podman load); docker load with docker's own image store loads nothing of it\n`);
        }
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    }
    return EXIT_OK;
  },
};
