import { spawn } from "node:child_process";
import { toolPath, type ToolName } from "@tsbuild/oci";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a system tool (mount, umount, cp, getfattr) and returns its output. */
export function exec(cmd: ToolName, args: string[], opts: { cwd?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(toolPath(cmd), args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    c.on("error", (e) => reject(new Error(`${cmd} could not run: ${e.message}`)));
    c.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export async function execOk(cmd: ToolName, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}
