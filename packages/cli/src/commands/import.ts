import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { hostPlatform } from "@tsbuild/dockerfile";
import { applyConfigChanges, ConfigChangeError } from "@tsbuild/engine";
import { decompressStream, ingestLayerTar, MediaTypes, writeImage, type ContainerConfig, type ImageConfig } from "@tsbuild/oci";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { list, parseArgs, str, UsageError } from "../args.js";
import { ROOT_OPTION, withStoreSession } from "../store-options.js";

const OPTIONS = [
  ROOT_OPTION,
  { name: "change", short: "c", value: true, repeat: true, arg: "INSTRUCTION", help: "a Dockerfile metadata instruction applied to the config (CMD, ENV, LABEL, …)" },
  { name: "message", short: "m", value: true, arg: "MESSAGE", help: "the history entry's comment" },
];

export const importCommand: Command = {
  name: "import",
  summary: "make a one-layer image from a root file system tarball (as docker import)",
  usage: "tsbuild import [--root DIR] FILE|- NAME [-c 'INSTRUCTION']... [-m MESSAGE]",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const [file, name] = args.positionals;
    if (!file || !name) throw new UsageError("give the tarball (or - for stdin) and the image name");
    // -c: Dockerfile instructions applied through the build's own rules (engine: image/config-changes.ts)
    let container: ContainerConfig;
    try {
      container = applyConfigChanges({}, list(args, "change"));
    } catch (e) {
      if (e instanceof ConfigChangeError) throw new UsageError(e.message);
      throw e;
    }
    // the history comment, as docker's: -m, else "Imported from -" (docker's CLI sends a file as a stream too)
    const message = str(args, "message") || "Imported from -";
    const img = await withStoreSession(args, io, "import", async (store) => {
      const source: Readable = file === "-" ? (io.stdin as Readable) : createReadStream(resolve(io.cwd, file));
      // The layer is stored as the uncompressed tar (its digest is its diff id), read as a tar on its way in.
      const blob = await ingestLayerTar(store.content, await decompressStream(source), file === "-" ? "the tarball on standard input" : file);
      const platform = hostPlatform();
      const created = new Date().toISOString();
      const config: Omit<ImageConfig, "rootfs"> = {
        created,
        architecture: platform.architecture,
        os: platform.os,
        config: container,
        history: [{ created, comment: message }],
      };
      const made = await writeImage(store.content, config, [
        { descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest: blob.digest, size: blob.size }, diffId: blob.digest },
      ]);
      await store.images.put(name, made.manifest);
      return made;
    });
    io.stdout.write(`${img.config.digest}\n`);
    return EXIT_OK;
  },
};
