import { saveCredential } from "@tsbuild/registry";
import type { Command } from "../command.js";
import { EXIT_OK } from "../command.js";
import { flag, parseArgs, str, UsageError } from "../args.js";
import { isTerminal, promptHidden, promptLine } from "../prompt.js";

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

const OPTIONS = [
  { name: "username", short: "u", value: true, arg: "USER", help: "the user name (asked on a terminal when left out)" },
  { name: "password", short: "p", value: true, arg: "PASSWORD", help: "the password (visible to other processes: prefer --password-stdin)" },
  { name: "password-stdin", help: "read the password from standard input" },
];

export const loginCommand: Command = {
  name: "login",
  summary: "store registry credentials in docker's config.json",
  usage: "tsbuild login HOST [-u USER] [-p PASSWORD | --password-stdin]  (on a terminal, asks for what is left out)",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const host = args.positionals[0];
    if (!host) throw new UsageError("give the registry host");
    const fromStdin = flag(args, "password-stdin");
    let user = str(args, "username");
    let password = str(args, "password");
    if (fromStdin && password !== undefined) throw new UsageError("give the password either with -p or with --password-stdin, not both");
    // as docker login: prompt on a terminal for what the flags left out
    const terminal = isTerminal(io.stdin);
    if (user === undefined) {
      if (fromStdin) throw new UsageError("--password-stdin needs -u USER");
      if (!terminal) throw new UsageError("cannot ask for the user name: stdin is not a terminal; give -u USER and --password-stdin");
      user = (await promptLine(io.stdin, io.stdout, "Username: ")).trim();
      if (!user) throw new UsageError("no user name given");
    }
    if (fromStdin) password = (await readAll(io.stdin)).replace(/\r?\n$/, "");
    if (password === undefined) {
      if (!terminal) throw new UsageError("cannot ask for the password: stdin is not a terminal; give it with --password-stdin");
      password = await promptHidden(io.stdin, io.stdout, "Password: ");
    }
    if (password === "") throw new UsageError("the password is empty");
    const path = await saveCredential(host === "docker.io" || host === "index.docker.io" ? "docker.io" : host, user, password, io.env);
    io.stdout.write(`Login stored for ${host} in ${path}\n`);
    return EXIT_OK;
  },
};
