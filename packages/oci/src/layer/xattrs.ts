/**
 * Reading extended attributes. Node has no xattr API; Debian's `getfattr` (package attr) is used,
 * only where xattrs are asked for, so the common path costs nothing. (Setting one: SafeRoot's
 * setXattrAt, through the entry's directory.)
 */
import { spawn } from "node:child_process";
import { toolPath, type ToolName } from "../system-tools.js";

function run(cmd: ToolName, args: string[], cwd?: string): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(toolPath(cmd), args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => reject(new Error(`${cmd} could not run: ${e.message} (install Debian's attr package)`)));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** All xattrs (any namespace) under root, by relative path; values raw. */
export async function readXattrs(root: string): Promise<Map<string, Record<string, Buffer>>> {
  const r = await run("getfattr", ["-R", "-P", "-d", "-m", "-", "-e", "base64", "--absolute-names", "."], root);
  const out = new Map<string, Record<string, Buffer>>();
  let current: string | undefined;
  for (const line of r.stdout.toString("utf8").split("\n")) {
    if (line.startsWith("# file: ")) {
      current = line.slice(8).replace(/^\.\/?/, "");
      continue;
    }
    const eq = line.indexOf("=");
    if (!current || eq === -1) continue;
    const key = line.slice(0, eq);
    let val = line.slice(eq + 1);
    const value = val.startsWith("0s") ? Buffer.from(val.slice(2), "base64") : Buffer.from((val = val.replace(/^"|"$/g, "")));
    const rec = out.get(current) ?? {};
    rec[key] = value;
    out.set(current, rec);
  }
  return out;
}
