/**
 * One git command, run as BuildKit's gitutil.GitCLI runs it: Debian's `git`, umask 022 (the modes a
 * checkout gets), `-c protocol.file.allow=user` (a repository cannot name a local path as a
 * submodule), no system or user config (GIT_CONFIG_NOSYSTEM, HOME and GIT_CONFIG_GLOBAL=/dev/null),
 * no prompt (GIT_TERMINAL_PROMPT=0), ssh without any ssh config (`ssh -F /dev/null`, known hosts as
 * the caller says), LC_ALL=C. Credentials come in `env` only (git-auth.ts), never as arguments.
 *
 * A failure is a GitCommandError whose message has git's stderr with every string of `hide` and any
 * URL's user and password masked.
 */
import { spawn } from "node:child_process";
import { redactCredentials } from "./git-url.js";
import { toolPath } from "@tsbuild/oci";

export interface GitRunOptions {
  gitDir?: string;
  workTree?: string;
  /** the command's working directory (default: the work tree, else /) */
  cwd?: string;
  /** extra environment (credentials, SSH_AUTH_SOCK, GIT_SSH_COMMAND) */
  env?: Record<string, string>;
  /** strings that must not appear in an error message */
  hide?: string[];
  signal?: AbortSignal;
}

export class GitCommandError extends Error {
  override readonly name = "GitCommandError";
  constructor(message: string, readonly stderr: string) {
    super(message);
  }
}

/** Masks `hide` and URL credentials in `text`. */
export function scrub(text: string, hide: string[] = []): string {
  let out = text;
  for (const h of hide) if (h) out = out.split(h).join("xxxxx");
  return out.replace(/[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s'"]+/g, (u) => redactCredentials(u));
}

/** Runs `git ARGS`; its stdout. */
export function runGit(args: string[], opts: GitRunOptions = {}): Promise<string> {
  const verb = args.find((a, n) => !a.startsWith("-") && args[n - 1] !== "-c") ?? "";
  const full = ["-c", "protocol.file.allow=user"];
  if (opts.workTree) full.push("--work-tree", opts.workTree);
  if (opts.gitDir) full.push("--git-dir", opts.gitDir);
  full.push(...args);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    GIT_TERMINAL_PROMPT: "0",
    GIT_SSH_COMMAND: "ssh -F /dev/null -o StrictHostKeyChecking=no",
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: "/dev/null",
    GIT_CONFIG_GLOBAL: "/dev/null",
    LC_ALL: "C",
    ...opts.env,
  };
  for (const k of ["http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"]) {
    const v = process.env[k];
    if (v !== undefined && env[k] === undefined) env[k] = v;
  }
  return new Promise((resolve, reject) => {
    // umask 022 for this git alone (node cannot set a child's umask): the shell sets it and becomes git
    const child = spawn("/bin/sh", ["-c", 'umask 022 && exec "$0" "$@"', toolPath("git"), ...full], {
      cwd: opts.cwd ?? opts.workTree ?? "/",
      env,
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errLen = 0;
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => {
      // keep the last 64 KiB of stderr: enough for any message, bounded for a chatty remote
      err.push(b);
      errLen += b.length;
      while (errLen > 65536 && err.length > 1) errLen -= err.shift()!.length;
    });
    child.on("error", (e) => reject(new GitCommandError(`git ${verb}: ${scrub(e.message, opts.hide)}`, "")));
    child.on("close", (code, sig) => {
      if (code === 0) return resolve(Buffer.concat(out).toString("utf8"));
      const stderr = scrub(Buffer.concat(err).toString("utf8").trim(), opts.hide);
      reject(new GitCommandError(`git ${verb} failed (${sig ? `signal ${sig}` : `exit ${code}`})${stderr ? `: ${stderr}` : ""}`, stderr));
    });
  });
}
