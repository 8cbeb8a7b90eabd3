import { saveCredential } from "@tsbuild/registry";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { flag, parseArgs, str, UsageError } from "../args.js";

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

export const loginCommand: Command = {
  name: "login",
  summary: "store registry credentials in docker's config.json",
  usage: "tsbuild login HOST -u USER (-p PASSWORD | --password-stdin)",
  async run(argv, io) {
    const args = parseArgs(argv, [
      { name: "username", short: "u", value: true },
      { name: "password", short: "p", value: true },
      { name: "password-stdin" },
    ]);
    const host = args.positionals[0];
    const user = str(args, "username");
    if (!host || !user) throw new UsageError("give the registry host and -u USER");
    let password = str(args, "password");
    if (flag(args, "password-stdin")) password = (await readAll(io.stdin)).replace(/\r?\n$/, "");
    if (password === undefined) throw new UsageError("give the password with --password-stdin (or -p)");
    const path = await saveCredential(host === "docker.io" || host === "index.docker.io" ? "docker.io" : host, user, password, io.env);
    io.stdout.write(`Login stored for ${host} in ${path}\n`);
    return EXIT_OK;
  },
};
