import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createNetServer, connect } from "node:net";
import { join } from "node:path";

/** Git with fixed identities and times, no user or system config. */
export function gitIn(cwd: string, args: string[], date = "2020-01-02T03:04:05Z"): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      PATH: process.env.PATH, HOME: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@e", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@e",
      GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date,
    },
  }).trim();
}

export interface GitFixtures {
  /** the directory the servers serve: repo.git (the main repository) and sub.git (its submodule) */
  base: string;
  /** work trees, to add commits: `${work}/repo` pushes to repo.git with `git push origin` */
  work: string;
  /** commit "one" (tags v1, and the annotated v1a), "two" (main: + submodule mods/sub, big.bin) and "three" (branch other) */
  one: string;
  two: string;
  three: string;
  /** the annotated tag v1a's object */
  v1aObject: string;
  /** sha256 of big.bin (20 MiB) */
  bigSha256: string;
}

/**
 * The repositories the git tests serve: main (default) with a.txt, dir/deep/f, run.sh (0755), link ->
 * a.txt, a 20 MiB big.bin and the submodule mods/sub (../sub.git, relative to the remote); tags v1
 * (lightweight) and v1a (annotated) on the first commit; branch `other` adds o.txt.
 */
export function makeGitFixtures(dir: string): GitFixtures {
  const base = join(dir, "srv");
  const work = join(dir, "w");
  mkdirSync(base, { recursive: true });
  mkdirSync(work, { recursive: true });
  gitIn(work, ["init", "-q", "-b", "main", "sub"]);
  writeFileSync(join(work, "sub/s.txt"), "subfile\n");
  gitIn(join(work, "sub"), ["add", "."]);
  gitIn(join(work, "sub"), ["commit", "-qm", "sub"]);
  gitIn(base, ["clone", "-q", "--bare", join(work, "sub"), "sub.git"]);
  const r = join(work, "repo");
  gitIn(work, ["init", "-q", "-b", "main", "repo"]);
  writeFileSync(join(r, "a.txt"), "hello\n");
  mkdirSync(join(r, "dir/deep"), { recursive: true });
  writeFileSync(join(r, "dir/deep/f"), "d\n");
  writeFileSync(join(r, "run.sh"), "#!/bin/sh\necho x\n");
  chmodSync(join(r, "run.sh"), 0o755);
  symlinkSync("a.txt", join(r, "link"));
  gitIn(r, ["add", "."]);
  gitIn(r, ["commit", "-qm", "one"]);
  gitIn(r, ["tag", "v1"]);
  gitIn(r, ["tag", "-a", "v1a", "-m", "annotated"]);
  gitIn(r, ["-c", "protocol.file.allow=always", "submodule", "add", "-q", join(work, "sub"), "mods/sub"]);
  gitIn(r, ["config", "-f", ".gitmodules", "submodule.mods/sub.url", "../sub.git"]);
  const big = Buffer.alloc(20 * 1024 * 1024);
  for (let o = 0, n = 0; o < big.length; o += 32, n++) createHash("sha256").update(String(n)).digest().copy(big, o);
  writeFileSync(join(r, "big.bin"), big);
  gitIn(r, ["add", "."]);
  gitIn(r, ["commit", "-qm", "two"]);
  gitIn(r, ["checkout", "-qb", "other"]);
  writeFileSync(join(r, "o.txt"), "other\n");
  gitIn(r, ["add", "o.txt"]);
  gitIn(r, ["commit", "-qm", "three"]);
  gitIn(r, ["checkout", "-q", "main"]);
  gitIn(base, ["clone", "-q", "--bare", r, "repo.git"]);
  gitIn(r, ["remote", "add", "origin", join(base, "repo.git")]);
  return {
    base, work,
    one: gitIn(r, ["rev-parse", "v1"]), two: gitIn(r, ["rev-parse", "main"]), three: gitIn(r, ["rev-parse", "other"]),
    v1aObject: gitIn(r, ["rev-parse", "v1a"]),
    bigSha256: createHash("sha256").update(big).digest("hex"),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((res) => {
      const c = connect(port, "127.0.0.1", () => { c.destroy(); res(true); });
      c.on("error", () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

export interface RunningServer {
  url: string;
  port: number;
  /** requests served so far (http only) */
  requests: number;
  stop(): Promise<void>;
}

/** `git daemon` serving `base` on a free port of 127.0.0.1 (git://127.0.0.1:PORT/repo.git). */
export async function startGitDaemon(base: string): Promise<RunningServer> {
  const port = await freePort();
  const child: ChildProcess = spawn("git", ["daemon", "--reuseaddr", "--export-all", `--base-path=${base}`, "--listen=127.0.0.1", `--port=${port}`, base], {
    stdio: "ignore", env: { PATH: process.env.PATH, HOME: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
  });
  await waitForPort(port);
  return {
    url: `git://127.0.0.1:${port}`, port, requests: 0,
    stop: () => new Promise((res) => {
      if (child.exitCode !== null) return res();
      child.once("exit", () => res());
      child.kill("SIGTERM");
    }),
  };
}

/**
 * Smart http: a node server running `git http-backend` as CGI for `base` on a free port
 * (http://127.0.0.1:PORT/repo.git). With `authorization`, a request without exactly that
 * Authorization header gets 401.
 */
export async function startGitHttp(base: string, opts: { authorization?: string } = {}): Promise<RunningServer> {
  const state = { requests: 0 };
  const server: Server = createHttpServer((req, res) => {
    state.requests++;
    if (opts.authorization !== undefined && req.headers.authorization !== opts.authorization) {
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"' });
      res.end();
      return;
    }
    const u = new URL(req.url ?? "/", "http://x");
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin", GIT_PROJECT_ROOT: base, GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: decodeURIComponent(u.pathname), QUERY_STRING: u.search.replace(/^\?/, ""), REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "", REMOTE_ADDR: "127.0.0.1", GATEWAY_INTERFACE: "CGI/1.1", HOME: "/dev/null",
    };
    if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = String(req.headers["content-encoding"]);
    if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);
    if (req.headers["content-length"]) env.CONTENT_LENGTH = String(req.headers["content-length"]);
    const cgi = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "ignore"] });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let sent = false;
    cgi.stdout.on("data", (b: Buffer) => {
      if (sent) { res.write(b); return; }
      head = Buffer.concat([head, b]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const c = line.indexOf(":");
        const k = line.slice(0, c).trim();
        const v = line.slice(c + 1).trim();
        if (k.toLowerCase() === "status") status = Number(v.split(" ")[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      sent = true;
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on("end", () => res.end());
    cgi.on("error", () => { res.statusCode = 500; res.end(); });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`, port,
    get requests() { return state.requests; },
    stop: () => new Promise((res) => { server.closeAllConnections(); server.close(() => res()); }),
  };
}
