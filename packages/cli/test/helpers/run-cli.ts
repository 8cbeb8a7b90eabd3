import { PassThrough } from "node:stream";
import { main } from "@tsbuild/cli";

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `tsbuild ARGV…` in-process with its own streams, environment and working directory. */
export async function runCli(argv: string[], opts: { stdin?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  stdin.end(opts.stdin ?? "");
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const code = await main(argv, { stdout, stderr, stdin, env: opts.env ?? {}, cwd: opts.cwd ?? process.cwd() });
  return { code, out, err };
}
