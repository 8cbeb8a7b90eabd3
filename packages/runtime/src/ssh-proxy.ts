/**
 * The socket a RUN --mount=type=ssh gets: a listener of its own, owned uid:gid with the mount's mode
 * (as BuildKit's sshforward.MountSSHSocket makes it), each connection piped to the host agent
 * socket the build was given. It is never the user's socket itself: its owner and mode are the
 * mount's, and it goes away with the RUN.
 *
 * `readOnly` (a user's agent socket): only what BuildKit's readOnlyAgent lets through reaches the
 * agent — listing keys, signing, unlocking; adding, removing, locking and extensions are answered
 * SSH_AGENT_FAILURE here, as BuildKit answers them. The agent protocol is one request, one answer
 * (length-prefixed frames): requests are handled one at a time, in order. Without `readOnly` (the
 * build's own agent holding --ssh key files, as buildx's in-process keyring) bytes pass as they are.
 *
 * The socket's path (in the RUN's bundle, often past the 107 bytes a socket address holds) is bound
 * through `/proc/self/fd/N/` of its directory, held open until the listener is closed (the runtime
 * unlinks the socket by that same name then).
 */
import { closeSync, constants, openSync } from "node:fs";
import { chmod, chown } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";

export interface SshProxy {
  /** the socket's path on the host (what the RUN's bind mount takes) */
  path: string;
  /** stops listening, ends every connection, removes the socket */
  close(): Promise<void>;
}

export class SshProxyError extends Error {
  override readonly name = "SshProxyError";
}

/** OpenSSH's limit on one agent message (AGENT_MAX_LEN) */
const MAX_FRAME = 256 * 1024;
const FAILURE = Buffer.from([0, 0, 0, 1, 5]);
const SUCCESS = Buffer.from([0, 0, 0, 1, 6]);
/** request identities, sign, unlock: what BuildKit's readOnlyAgent passes to the agent */
const FORWARDED = new Set([11, 13, 23]);

/** Reads whole length-prefixed frames from a socket. */
class FrameReader {
  private buf = Buffer.alloc(0);
  private waiting: ((f: Buffer | undefined) => void) | undefined;
  private ended = false;
  constructor(sock: Socket) {
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    sock.on("end", end);
    sock.on("close", end);
    sock.on("error", end);
  }
  private take(): Buffer | undefined | "bad" {
    if (this.buf.length < 4) return undefined;
    const n = this.buf.readUInt32BE(0);
    if (n === 0 || n > MAX_FRAME) return "bad";
    if (this.buf.length < 4 + n) return undefined;
    const f = this.buf.subarray(0, 4 + n);
    this.buf = this.buf.subarray(4 + n);
    return f;
  }
  private wake(): void {
    if (!this.waiting) return;
    const f = this.take();
    if (f === "bad") return this.resolve(undefined);
    if (f !== undefined) return this.resolve(f);
    if (this.ended) this.resolve(undefined);
  }
  private resolve(f: Buffer | undefined): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.(f);
  }
  /** the next frame, or undefined at the end (or on a frame no agent would send) */
  next(): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.wake();
    });
  }
}

function serveReadOnly(client: Socket, upstream: Socket): void {
  const fromClient = new FrameReader(client);
  const fromAgent = new FrameReader(upstream);
  const loop = async () => {
    for (;;) {
      const req = await fromClient.next();
      if (!req) break;
      const type = req[4] as number;
      let reply: Buffer | undefined;
      if (FORWARDED.has(type)) {
        upstream.write(req);
        reply = await fromAgent.next();
        if (!reply) break;
      } else if (type === 1) reply = Buffer.from([0, 0, 0, 5, 2, 0, 0, 0, 0]); // SSH1 identities: none (as Go's agent server)
      else if (type === 9) reply = SUCCESS; // SSH1 remove all: nothing to remove
      else reply = FAILURE;
      client.write(reply);
    }
  };
  void loop().finally(() => {
    client.destroy();
    upstream.destroy();
  });
}

/**
 * Listens on `dir/name` (dir: a private directory that exists), owned uid:gid with `mode`, and
 * forwards each connection to the agent at `agent`.
 */
export async function startSshProxy(dir: string, name: string, agent: string, opts: { uid: number; gid: number; mode: number; readOnly: boolean }): Promise<SshProxy> {
  const path = join(dir, name);
  const dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  const conns = new Set<Socket>();
  const server: Server = createServer((client) => {
    conns.add(client);
    const upstream = createConnection(agent);
    conns.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      conns.delete(client);
      conns.delete(upstream);
    };
    client.on("close", drop);
    upstream.on("close", drop);
    client.on("error", drop);
    upstream.on("error", drop);
    if (opts.readOnly) serveReadOnly(client, upstream);
    else {
      client.pipe(upstream);
      upstream.pipe(client);
    }
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const c of conns) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    closeSync(dirFd);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(`/proc/self/fd/${dirFd}/${name}`, () => {
        server.off("error", reject);
        resolve();
      });
    });
    await chown(path, opts.uid, opts.gid);
    await chmod(path, opts.mode & 0o777);
  } catch (e) {
    await close();
    throw new SshProxyError(`could not make the RUN's ssh agent socket: ${(e as Error).message}`);
  }
  return { path, close };
}
