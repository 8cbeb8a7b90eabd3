/**
 * The agent that serves `--ssh ID=KEYFILE[,KEYFILE…]`: Debian's ssh-agent (openssh-client) on a
 * socket in a private directory, each key added by ssh-add from its bytes on standard input (the
 * file is read once, by tsbuild). buildx holds such keys in an in-process keyring; this is the same
 * agent, one per id, serving all of that id's keys, for the build only.
 *
 * ssh-agent runs in its command mode (`ssh-agent -a SOCK -- sh -c …`): the command reads a pipe
 * from tsbuild and the agent watches it. `stop()` ends the agent at once; if tsbuild dies without
 * stopping it (kill -9), the pipe closes, the command exits, and the agent follows within ten
 * seconds (its parent check), removing its socket.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { toolPath } from "@tsbuild/oci";

export interface KeyAgent {
  /** the agent's socket */
  socket: string;
  /** stops the agent (its keys go with it) */
  stop(): Promise<void>;
}

export class KeyAgentError extends Error {
  override readonly name = "KeyAgentError";
}

const live = new Set<number>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const pid of live) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // gone already
      }
    }
  });
}

/** whether `pid` runs (a zombie waiting for its new parent to reap it does not) */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX] /s.test(stat);
  } catch {
    return false;
  }
};

/** Runs ssh-add on `data` (one private key) against the agent at `socket`; rejects with ssh-add's words. */
async function addKey(socket: string, data: Buffer): Promise<void> {
  // its own session: no terminal to ask a passphrase on (key-file.ts refused those already)
  const c = spawn(toolPath("ssh-add"), ["-q", "-"], {
    detached: true, stdio: ["pipe", "ignore", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SSH_AUTH_SOCK: socket, SSH_ASKPASS_REQUIRE: "never" },
  });
  let err = "";
  c.stderr.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-500)));
  c.stdin.on("error", () => undefined);
  c.stdin.end(data);
  const [code] = (await Promise.race([once(c, "close"), once(c, "error").then(([e]) => { throw e; })])) as [number | null];
  if (code !== 0) throw new KeyAgentError(`ssh-add: ${err.trim().replace(/\(stdin\)/g, "the key") || `exit ${code}`}`);
}

/** Starts an agent on `dir/agent` (dir: private, existing) holding `keys`. */
export async function startKeyAgent(dir: string, keys: Buffer[]): Promise<KeyAgent> {
  hookExit();
  const socket = join(dir, "agent");
  const child = spawn(toolPath("ssh-agent"), ["-a", socket, "--", "sh", "-c", 'echo "$SSH_AGENT_PID"; exec cat >/dev/null'], { stdio: ["pipe", "pipe", "pipe"] });
  child.stdin.on("error", () => undefined);
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
  const pid = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.once("error", (e: NodeJS.ErrnoException) => reject(new KeyAgentError(e.code === "ENOENT" ? "ssh-agent not found: install Debian's openssh-client" : `could not start ssh-agent: ${e.message}`)));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) resolve(Number(line[1]));
    });
    child.once("close", (code) => reject(new KeyAgentError(`ssh-agent exited (${code}): ${stderr.trim()}`)));
  });
  live.add(pid);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // gone already
    }
    const closed = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, "close").then(() => undefined);
    child.stdin.end();
    await closed;
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 10));
    if (alive(pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    live.delete(pid);
  };
  try {
    for (const k of keys) await addKey(socket, k);
  } catch (e) {
    await stop();
    throw e;
  }
  return { socket, stop };
}
