/**
 * The ssh agents a build was given (`--ssh ID[=PATH[,PATH…]]`, BuildOptions.ssh), as buildx's agent
 * provider (BuildKit session/sshforward/sshprovider/agentprovider.go) takes them, checked when the
 * build opens them, before any step, with buildx's messages:
 *
 * - no path (or one empty path): $SSH_AUTH_SOCK; unset, "invalid empty ssh agent socket: make sure
 *   SSH_AUTH_SOCK is set";
 * - each path must exist ("stat PATH: no such file or directory"); a socket is the user's agent, any
 *   other file a private key (key-file.ts: unreadable, not a key, under a passphrase: refused);
 * - one socket per id at most ("only single socket allowed"), never a socket and keys together
 *   ("invalid combination of keys and sockets"), each id once ("invalid duplicate ID ID").
 *
 * An id's key files are served by one agent of the build's own (key-agent.ts: Debian's ssh-agent on
 * a socket in a private directory under the system's temporary directory — a socket's path is short
 * — removed by close()). A user's socket is used where it is; RUN mounts reach it read-only
 * (runtime ssh-proxy.ts), as BuildKit's readOnlyAgent; the build's own agent is writable, as
 * buildx's in-process keyring is.
 */
import { constants, type Stats } from "node:fs";
import { mkdir, mkdtemp, open, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ownerStamp } from "@tsbuild/oci";
import { keyFileProblem } from "./key-file.js";
import { startKeyAgent, type KeyAgent } from "./key-agent.js";

/** the build's own agents live in `${os.tmpdir()}/tsbuild-ssh-STAMP-XXXXXX` */
export const SSH_DIR_PREFIX = "tsbuild-ssh-";

/** One `--ssh` value: an id and its agent socket or key files (none: $SSH_AUTH_SOCK). */
export interface SshSpec {
  /** "" is "default", as in buildx */
  id: string;
  paths: string[];
}

/** A host socket speaking the ssh agent protocol. */
export interface SshAgent {
  socket: string;
  /** the user's own agent: what a RUN gets may only list keys and sign (as BuildKit) */
  readOnly: boolean;
}

/** The build's ssh agents by id (a role: RUN mounts and git sources use it). */
export interface SshAgents {
  /** whether `--ssh` gave this id (what a required mount checks at its line) */
  has(id: string): boolean;
  /** the agent for `id`; undefined when `--ssh` did not give it */
  agent(id: string): Promise<SshAgent | undefined>;
  /**
   * A host socket path speaking the agent protocol for `id` ("default" for `--ssh default`), for a
   * process on the host (e.g. git over ssh: SSH_AUTH_SOCK); undefined when not given. Stable.
   */
  socket(id: string): Promise<string | undefined>;
  /** stops the build's own agents and removes their sockets */
  close(): Promise<void>;
}

/** A `--ssh` value buildx refuses too (its message, and what to do). */
export class SshSpecError extends Error {
  override readonly name = "SshSpecError";
}

/** buildx's ParseSSHSpecs: `ID[=PATH[,PATH…]]`; an empty value is skipped. */
export function parseSshSpec(value: string): SshSpec | undefined {
  if (value === "") return undefined;
  const eq = value.indexOf("=");
  return eq === -1 ? { id: value, paths: [] } : { id: value.slice(0, eq), paths: value.slice(eq + 1).split(",") };
}

/** Go's syscall error strings, for the errors buildx prints */
const GO_ERRNO: Record<string, string> = {
  ENOENT: "no such file or directory", EACCES: "permission denied", ENOTDIR: "not a directory", ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long", EISDIR: "is a directory", EPERM: "operation not permitted",
};
const goErr = (e: unknown) => GO_ERRNO[(e as NodeJS.ErrnoException).code ?? ""] ?? (e as Error).message;

/** what os.ReadFile of at most 100 KiB gives buildx */
async function readKey(path: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY);
  } catch (e) {
    throw new SshSpecError(`failed to open ${path}: open ${path}: ${goErr(e)}`);
  }
  try {
    const buf = Buffer.alloc(100 * 1024);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0 || (n += bytesRead) === buf.length) break;
    }
    return buf.subarray(0, n);
  } catch (e) {
    throw new SshSpecError(`failed to read ${path}: read ${path}: ${goErr(e)}`);
  } finally {
    await fh.close();
  }
}

type Source = { socket: string } | { keys: Buffer[] };

/** One id's paths as buildx's toDialer reads them: a socket, or key files. */
async function readSource(paths: string[]): Promise<Source> {
  let socket: string | undefined;
  const keys: Buffer[] = [];
  for (const p of paths) {
    if (socket !== undefined) throw new SshSpecError("only single socket allowed");
    let st: Stats;
    try {
      st = await stat(p);
    } catch (e) {
      throw new SshSpecError(`stat ${p}: ${goErr(e)}`);
    }
    if (st.isSocket()) {
      socket = p;
      continue;
    }
    const data = await readKey(p);
    const problem = keyFileProblem(data);
    if (problem) {
      data.fill(0);
      const hint = problem.includes("passphrase") ? " (buildx does not ask for a passphrase either: add the key to your ssh-agent with ssh-add and give --ssh ID with SSH_AUTH_SOCK set)" : "";
      throw new SshSpecError(`failed to parse ${p}: ${problem}${hint}`);
    }
    keys.push(data);
  }
  if (socket !== undefined) {
    if (keys.length) throw new SshSpecError("invalid combination of keys and sockets");
    return { socket };
  }
  return { keys };
}

/**
 * Checks the specs and starts an agent for each id given key files. `env` is where $SSH_AUTH_SOCK
 * is read (default: this process's environment).
 */
export async function openSshAgents(specs: readonly SshSpec[], env: NodeJS.ProcessEnv = process.env): Promise<SshAgents> {
  const sources = new Map<string, Source>();
  for (const spec of specs) {
    const id = spec.id || "default";
    const paths = spec.paths.length === 0 || (spec.paths.length === 1 && spec.paths[0] === "") ? [env.SSH_AUTH_SOCK ?? ""] : spec.paths;
    if (paths[0] === "") throw new SshSpecError("invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set (or give --ssh ID=SOCKET_OR_KEY_FILE)");
    if (sources.has(id)) throw new SshSpecError(`invalid duplicate ID ${id}`);
    sources.set(id, await readSource(paths));
  }
  const agents = new Map<string, SshAgent>();
  const started: KeyAgent[] = [];
  let dir: string | undefined;
  const close = async () => {
    for (const a of started.splice(0)) await a.stop().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  };
  try {
    for (const [id, src] of sources) {
      if ("socket" in src) {
        agents.set(id, { socket: src.socket, readOnly: true });
        continue;
      }
      // mode 0700, stamped: a killed build's is swept by the next (prune/dead-builds.ts)
      dir ??= await mkdtemp(join(tmpdir(), `${SSH_DIR_PREFIX}${ownerStamp()}-`));
      const agentDir = join(dir, String(started.length));
      await mkdir(agentDir, { mode: 0o700 });
      try {
        started.push(await startKeyAgent(agentDir, src.keys));
      } catch (e) {
        throw new SshSpecError(`--ssh ${id}: ${(e as Error).message}`);
      } finally {
        for (const k of src.keys) k.fill(0);
      }
      agents.set(id, { socket: (started[started.length - 1] as KeyAgent).socket, readOnly: false });
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    has: (id) => agents.has(id || "default"),
    agent: async (id) => agents.get(id || "default"),
    socket: async (id) => agents.get(id || "default")?.socket,
    close,
  };
}

/** No agents (a build without --ssh). */
export const NO_SSH_AGENTS: SshAgents = { has: () => false, agent: async () => undefined, socket: async () => undefined, close: async () => undefined };
