/**
 * Test support: Debian's docker-registry (distribution 2.8) on 127.0.0.1 with a free port and a temp
 * storage dir, optionally with htpasswd Basic auth. Engine tests reuse it.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RegistryServer {
  /** "127.0.0.1:PORT" */
  host: string;
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

export async function startRegistry(opts: { user?: string; password?: string } = {}): Promise<RegistryServer> {
  const dir = mkdtempSync(join(tmpdir(), "tsbuild-registry-"));
  const port = await freePort();
  let auth = "";
  if (opts.user) {
    const line = execFileSync("htpasswd", ["-Bbn", opts.user, opts.password ?? ""]).toString().trim();
    writeFileSync(join(dir, "htpasswd"), line + "\n");
    auth = `auth:\n  htpasswd:\n    realm: tsbuild-test\n    path: ${join(dir, "htpasswd")}\n`;
  }
  writeFileSync(join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, "data")}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`);
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
