import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { DockerfileError, expandInstruction, hostPlatform, parseDockerfile, toInstruction, type CommandLine } from "@tsbuild/dockerfile";
import { decompressStream, ingestLayerTar, MediaTypes, writeImage, type ContainerConfig, type ImageConfig } from "@tsbuild/oci";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { list, parseArgs, UsageError } from "../args.js";
import { ROOT_OPTION, withStoreSession } from "../store-options.js";

/** Applies one `-c` change (a Dockerfile instruction) to a config, as `docker import -c` does. */
function applyChange(config: ContainerConfig, text: string): void {
  let instr;
  try {
    const parsed = parseDockerfile(text, { file: "-c" });
    instr = toInstruction(parsed.children[0]!, "-c");
  } catch (e) {
    if (e instanceof DockerfileError) throw new UsageError(`bad -c change "${text}": ${e.detail}`);
    throw e;
  }
  const env = new Map((config.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  const i = expandInstruction(instr, { lookup: (k) => env.get(k), escapeToken: "\\", file: "-c" });
  const argv = (c: CommandLine | undefined) => (c === undefined ? null : c.form === "exec" ? c.args : ["/bin/sh", "-c", c.command]);
  switch (i.kind) {
    case "cmd":
      config.Cmd = argv(i.cmd);
      break;
    case "entrypoint":
      config.Entrypoint = argv(i.cmd);
      break;
    case "env":
      for (const p of i.pairs) env.set(p.key, p.value);
      config.Env = [...env].map(([k, v]) => `${k}=${v}`);
      break;
    case "label":
      config.Labels = { ...config.Labels, ...Object.fromEntries(i.pairs.map((p) => [p.key, p.value])) };
      break;
    case "expose":
      config.ExposedPorts = { ...config.ExposedPorts, ...Object.fromEntries(i.ports.map((p) => [p.includes("/") ? p : `${p}/tcp`, {}])) };
      break;
    case "volume":
      config.Volumes = { ...config.Volumes, ...Object.fromEntries(i.paths.map((p) => [p, {}])) };
      break;
    case "user":
      config.User = i.user;
      break;
    case "workdir":
      config.WorkingDir = i.path;
      break;
    case "stopsignal":
      config.StopSignal = i.signal;
      break;
    case "onbuild":
      config.OnBuild = [...(config.OnBuild ?? []), i.expression];
      break;
    default:
      throw new UsageError(`-c does not support ${i.kind.toUpperCase()} (use CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR)`);
  }
}

export const importCommand: Command = {
  name: "import",
  summary: "make a one-layer image from a root file system tarball (as docker import)",
  usage: "tsbuild import [--root DIR] FILE|- NAME [-c 'INSTRUCTION']...",
  async run(argv, io) {
    const args = parseArgs(argv, [ROOT_OPTION, { name: "change", short: "c", value: true, repeat: true }, { name: "message", short: "m", value: true }]);
    const [file, name] = args.positionals;
    if (!file || !name) throw new UsageError("give the tarball (or - for stdin) and the image name");
    const container: ContainerConfig = {};
    for (const c of list(args, "change")) applyChange(container, c);
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
        history: [{ created, comment: `Imported from ${file === "-" ? "-" : file}` }],
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
