/**
 * ADD of http(s) URLs as BuildKit 0.13 (dockerfile 1.7) builds them, against real servers on
 * 127.0.0.1: names, modes, owners and times (the values the modern oracle gave for the same
 * server), redirects, gzip, --checksum (verified as it streams, nothing stored on a mismatch, a hit
 * with no request), the cache without a checksum (content digest, ETag and 304), proxies from the
 * environment, https trusted through SSL_CERT_FILE, and errors at the line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import { BuildError, type BuildResult } from "../src/index.js";
import { buildHarness } from "./helpers/build-harness.js";
import { filesContaining } from "./helpers/store-grep.js";
import { makeTestCa, type TestCa } from "../../../fixtures/support/test-ca.js";

const { work, root, buildText } = buildHarness("tsbuild-add-url-");
const sha256 = (s: string | Buffer) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
const LM = "Tue, 02 Jan 2024 03:04:05 GMT"; // 1704164645

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
interface TestServer {
  base: string;
  /** every request: method, url, and the headers that matter here */
  log: { method: string; url: string; ifNoneMatch?: string; host?: string }[];
  routes: Map<string, Handler>;
  server: Server;
}
const servers: Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
});

async function serve(routes: Record<string, Handler>, make: (h: Handler) => Server = (h) => createServer(h), scheme = "http"): Promise<TestServer> {
  const t = { log: [], routes: new Map(Object.entries(routes)) } as unknown as TestServer;
  const server = make((req, res) => {
    t.log.push({ method: req.method ?? "", url: req.url ?? "", ...(req.headers["if-none-match"] ? { ifNoneMatch: String(req.headers["if-none-match"]) } : {}), ...(req.headers.host ? { host: req.headers.host } : {}) });
    const h = t.routes.get((req.url ?? "").replace(/^https?:\/\/[^/]+/, ""));
    if (h) h(req, res);
    else {
      res.writeHead(404);
      res.end("not found\n");
    }
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.server = server;
  t.base = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return t;
}

const text = (body: string | Buffer, headers: Record<string, string> = {}): Handler => (_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
};

const stat = (path: string) => {
  const s = statSync(path);
  return { mode: (s.mode & 0o7777).toString(8), owner: `${s.uid}:${s.gid}`, mtime: Math.floor(s.mtimeMs / 1000), content: readFileSync(path, "utf8") };
};
const failure = async (p: Promise<unknown>): Promise<BuildError> => {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(BuildError);
  return e as BuildError;
};
const steps = (r: BuildResult) => r.steps.filter((s) => s.instruction.startsWith("ADD")).map((s) => `${s.cached ? "cached" : "ran"} ${s.instruction.split(" ")[0]}`);
const blobs = () => readdirSync(join(root, "blobs", "sha256")).sort();

describe("ADD of a URL: the file", () => {
  it("is named from the URL, 0600 (or --chmod), owned by root (or --chown), dated by Last-Modified or at the epoch, gzip decoded, never unpacked", async () => {
    const tgz = gzipSync(Buffer.alloc(1024)); // a gzip file served as one: stored as it came
    const s = await serve({
      "/lm.txt": text("lm\n", { "last-modified": LM }),
      "/nolm.txt": text("nolm\n"),
      "/badlm.txt": text("badlm\n", { "last-modified": "yesterday" }),
      "/gz.txt": text(gzipSync("gzipped\n"), { "content-encoding": "gzip" }),
      "/cd": text("cd\n", { "content-disposition": 'attachment; filename="fromcd.txt"' }),
      "/a.tar.gz": text(tgz),
    });
    const P = s.base;
    const { out } = await buildText([
      "FROM scratch",
      `ADD ${P}/nolm.txt /a/`, `ADD ${P}/lm.txt /b/`, `ADD --chmod=755 ${P}/lm.txt /c/`, `ADD ${P}/gz.txt /d/`,
      `ADD ${P}/badlm.txt /f/`, `ADD ${P}/cd /g/`, `ADD --chown=12:34 ${P}/lm.txt /h/`, `ADD ${P}/a.tar.gz /i/`,
    ].join("\n"));
    // what `stat -c '%n %a %u:%g %Y'` printed in the modern oracle (BuildKit 0.13) for the same server
    expect(stat(join(out, "a/nolm.txt"))).toEqual({ mode: "600", owner: "0:0", mtime: 0, content: "nolm\n" });
    expect(stat(join(out, "b/lm.txt"))).toEqual({ mode: "600", owner: "0:0", mtime: 1704164645, content: "lm\n" });
    expect(stat(join(out, "c/lm.txt"))).toEqual({ mode: "755", owner: "0:0", mtime: 1704164645, content: "lm\n" });
    expect(stat(join(out, "d/gz.txt"))).toEqual({ mode: "600", owner: "0:0", mtime: 0, content: "gzipped\n" });
    expect(stat(join(out, "f/badlm.txt"))).toMatchObject({ mtime: 0 });
    expect(readdirSync(join(out, "g"))).toEqual(["cd"]); // Content-Disposition is not read: dockerfile2llb names the file
    expect(stat(join(out, "h/lm.txt"))).toMatchObject({ mode: "600", owner: "12:34" });
    expect(readFileSync(join(out, "i/a.tar.gz")).equals(tgz)).toBe(true);
    // Go's client asks for gzip
    expect(s.log.every((l) => l.method === "GET")).toBe(true);
  }, 60_000);

  it("follows redirects as Go does: 9 are followed (the file named from the first URL), the 10th is an error at the line", async () => {
    const s = await serve({ "/lm.txt": text("lm\n", { "last-modified": LM }) });
    for (let k = 0; k <= 9; k++) {
      s.routes.set(`/r/${k}`, (_req, res) => {
        res.writeHead(k % 2 ? 302 : 307, { location: k > 0 ? `/r/${k - 1}` : `${s.base}/lm.txt` });
        res.end();
      });
    }
    const { out } = await buildText(`FROM scratch\nADD ${s.base}/r/8 /e/\n`);
    expect(stat(join(out, "e/8"))).toEqual({ mode: "600", owner: "0:0", mtime: 1704164645, content: "lm\n" });
    const e = await failure(buildText(`FROM scratch\n\nADD ${s.base}/r/9 /e/\n`));
    expect(e.position?.line).toBe(3);
    expect(e.message).toMatch(/^ADD http:\/\/127\.0\.0\.1:\d+\/r\/9: download failed \(stopped after 10 redirects, the last to http:\/\/127\.0\.0\.1:\d+\/lm\.txt\)$/);
  }, 60_000);

  it("fails at the line for a 404, a 403, a refused connection and a host that does not resolve", async () => {
    const s = await serve({ "/forbidden": (_q, res) => { res.writeHead(403); res.end(); } });
    const e404 = await failure(buildText(`FROM base:1\nRUN true\nADD ${s.base}/missing.txt /x/\n`));
    expect(e404.position?.line).toBe(3);
    expect(e404.message).toBe(`ADD ${s.base}/missing.txt: download failed: the server answered 404 Not Found`);
    expect((await failure(buildText(`FROM scratch\nADD ${s.base}/forbidden /x/\n`))).message).toBe(`ADD ${s.base}/forbidden: download failed: the server answered 403 Forbidden`);
    const dns = await failure(buildText("FROM scratch\nADD http://files.tsbuild.invalid/x.txt /x/\n"));
    expect(dns.message).toBe("ADD http://files.tsbuild.invalid/x.txt: download failed (ENOTFOUND: the host files.tsbuild.invalid does not resolve)");
    // user info is never printed
    const cred = await failure(buildText(`FROM scratch\nADD http://user:hunter2@127.0.0.1:1/x.txt /x/\n`));
    expect(cred.message).toBe("ADD http://127.0.0.1:1/x.txt: download failed (ECONNREFUSED)");
  }, 60_000);

  it("retries a 503 and a dropped connection, as the registry client does", async () => {
    let n = 0;
    const s = await serve({
      "/flaky": (_q, res) => {
        n++;
        if (n === 1) {
          res.writeHead(503);
          res.end();
        } else if (n === 2) res.socket?.destroy();
        else text("finally\n")(_q, res);
      },
    });
    const { out } = await buildText(`FROM scratch\nADD ${s.base}/flaky /x/\n`);
    expect(readFileSync(join(out, "x/flaky"), "utf8")).toBe("finally\n");
    expect(n).toBe(3);
  }, 60_000);
});

describe("ADD --checksum", () => {
  it("a matching checksum builds; the rebuild is a hit that makes no request at all", async () => {
    const body = "checked\n";
    const s = await serve({ "/c.txt": text(body, { "last-modified": LM }) });
    const df = `FROM scratch\nADD --checksum=${sha256(body)} ${s.base}/c.txt /c/\n`;
    const first = await buildText(df);
    expect(stat(join(first.out, "c/c.txt"))).toEqual({ mode: "600", owner: "0:0", mtime: 1704164645, content: body });
    expect(steps(first.r)).toEqual(["ran ADD"]);
    expect(s.log).toHaveLength(1);
    s.routes.set("/c.txt", text("changed on the server\n"));
    const second = await buildText(df);
    expect(steps(second.r)).toEqual(["cached ADD"]);
    expect(s.log).toHaveLength(1); // no request: the checksum is the key
    expect(readFileSync(join(second.out, "c/c.txt"), "utf8")).toBe(body);
    // a --link step too: its key leaves the steps before it out, and still makes no request
    s.routes.set("/c.txt", text(body, { "last-modified": LM }));
    const linked = `ADD --link --checksum=${sha256(body)} ${s.base}/c.txt /l/\n`;
    expect(steps((await buildText(`FROM scratch\n${linked}`)).r)).toEqual(["ran ADD"]);
    const rebased = await buildText(`FROM base:1\n${linked}`);
    expect(steps(rebased.r)).toEqual(["cached ADD"]);
    expect(stat(join(rebased.out, "l/c.txt"))).toEqual({ mode: "600", owner: "0:0", mtime: 1704164645, content: body });
    expect(s.log).toHaveLength(2);
  }, 60_000);

  it("a mismatch fails at the line with both digests, and stores nothing", async () => {
    const s = await serve({ "/m.txt": text("the real content\n") });
    const want = sha256("what I expected\n");
    const before = blobs();
    const e = await failure(buildText(`FROM scratch\nADD --checksum=${want} ${s.base}/m.txt /m/\n`));
    expect(e.position?.line).toBe(2);
    expect(e.message).toBe(`ADD ${s.base}/m.txt: checksum mismatch: expected ${want}, but the download is ${sha256("the real content\n")}; nothing was added (check the --checksum, or the server's file)`);
    expect(blobs()).toEqual(before);
    expect(await filesContaining(join(root, "blobs"), ["the real content"])).toEqual([]);
    expect(await filesContaining(join(root, "snapshots"), ["the real content"])).toEqual([]);
  }, 60_000);

  it("is refused as dockerfile 1.7 refuses it: a bad digest, several sources, a local source; sha384/sha512 (BuildKit compares them with a sha256)", async () => {
    const s = await serve({ "/a": text("a") });
    const ok = sha256("a");
    writeFileSync(join(work, "ctx", "local.txt"), "l");
    const cases: [string, string][] = [
      [`ADD --checksum=sha256:abc ${s.base}/a /x/`, "invalid checksum digest length"],
      [`ADD --checksum=${ok.toUpperCase().replace("SHA256", "sha256")} ${s.base}/a /x/`, "invalid checksum digest format"],
      [`ADD --checksum=${ok.slice(7)} ${s.base}/a /x/`, "invalid checksum digest format"],
      [`ADD --checksum=md5:abc ${s.base}/a /x/`, "unsupported digest algorithm"],
      [`ADD --checksum=${ok} ${s.base}/a ${s.base}/b /x/`, "checksum can't be specified for multiple sources"],
      [`ADD --checksum=${ok} local.txt /x/`, "checksum can't be specified for non-HTTP sources"],
      [`ADD --checksum=sha512:${"a".repeat(128)} ${s.base}/a /x/`, "--checksum=sha512:…: BuildKit checks a download by its sha256 only"],
    ];
    for (const [line, msg] of cases) {
      const e = await buildText(`FROM scratch\n${line}\n`).then(() => undefined, (x: unknown) => x as Error);
      expect(e?.name, line).toBe("DockerfileError");
      expect(e?.message, line).toContain(`Dockerfile.`);
      expect(e?.message, line).toMatch(new RegExp(`:2:\\d+: ${msg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    }
    expect(s.log).toEqual([]); // refused before anything was fetched
    const copy = await buildText(`FROM scratch\nCOPY --checksum=${ok} local.txt /x/\n`).then(() => undefined, (x: unknown) => x as Error);
    expect(copy?.message).toMatch(/unknown flag: --?checksum/);
  }, 60_000);
});

describe("ADD of a URL without a checksum: the cache", () => {
  it("the key is the content's digest: the same content hits, changed content misses (one download per build)", async () => {
    const s = await serve({ "/v.txt": text("one\n") });
    const df = `FROM scratch\nADD ${s.base}/v.txt /v/\n`;
    expect(steps((await buildText(df)).r)).toEqual(["ran ADD"]);
    const again = await buildText(df);
    expect(steps(again.r)).toEqual(["cached ADD"]);
    expect(s.log).toHaveLength(2);
    s.routes.set("/v.txt", text("two\n"));
    const changed = await buildText(df, { explain: true });
    expect(steps(changed.r)).toEqual(["ran ADD"]);
    expect(changed.r.steps.find((x) => x.instruction.startsWith("ADD"))?.explain).toBe(`ADD ${s.base}/v.txt /v/: the download v.txt changed (${sha256("one\n").slice(0, 19)}… → ${sha256("two\n").slice(0, 19)}…)`);
    expect(readFileSync(join(changed.out, "v/v.txt"), "utf8")).toBe("two\n");
    // a new Last-Modified is a new key too (BuildKit keys the time), even for the same bytes
    s.routes.set("/v.txt", text("two\n", { "last-modified": LM }));
    const dated = await buildText(df);
    expect(steps(dated.r)).toEqual(["ran ADD"]);
    expect(stat(join(dated.out, "v/v.txt")).mtime).toBe(1704164645);
  }, 60_000);

  it("a local file and a URL in one ADD: both keyed, both copied", async () => {
    const s = await serve({ "/u.txt": text("remote\n") });
    writeFileSync(join(work, "ctx", "mixed.txt"), "local\n");
    const df = `FROM scratch\nADD mixed.txt ${s.base}/u.txt /m/\n`;
    const first = await buildText(df);
    expect(readFileSync(join(first.out, "m/mixed.txt"), "utf8")).toBe("local\n");
    expect(readFileSync(join(first.out, "m/u.txt"), "utf8")).toBe("remote\n");
    expect(steps((await buildText(df)).r)).toEqual(["cached ADD"]);
    writeFileSync(join(work, "ctx", "mixed.txt"), "local, changed\n");
    expect(steps((await buildText(df)).r)).toEqual(["ran ADD"]);
  }, 60_000);

  it("sends the ETag it kept as If-None-Match: a 304 hits without a download; a miss after a 304 downloads and checks the file", async () => {
    let body = "tagged\n";
    let etag = '"v1"';
    const s = await serve({});
    s.routes.set("/t.txt", (req, res) => {
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, { etag });
        res.end();
        return;
      }
      res.writeHead(200, { etag, "last-modified": LM });
      res.end(body);
    });
    const df = `FROM scratch\nADD ${s.base}/t.txt /t/\n`;
    await buildText(df);
    const hit = await buildText(df);
    expect(steps(hit.r)).toEqual(["cached ADD"]);
    expect(s.log.map((l) => l.ifNoneMatch ?? "-")).toEqual(["-", '"v1"']);
    // another parent: the step misses after the 304, so the file is fetched (and must still be what the ETag named)
    const other = await buildText(`FROM base:1\nADD ${s.base}/t.txt /t/\n`);
    expect(steps(other.r)).toEqual(["ran ADD"]);
    expect(stat(join(other.out, "t/t.txt"))).toEqual({ mode: "600", owner: "0:0", mtime: 1704164645, content: body });
    expect(s.log.slice(-2).map((l) => l.ifNoneMatch ?? "-")).toEqual(['"v1"', "-"]);
    // a new version under a new ETag: downloaded, a miss
    body = "tagged again\n";
    etag = '"v2"';
    const newer = await buildText(df);
    expect(steps(newer.r)).toEqual(["ran ADD"]);
    expect(readFileSync(join(newer.out, "t/t.txt"), "utf8")).toBe(body);
    // the URL itself is not written in the store's validators
    expect(await filesContaining(join(root, "cache", "http"), [s.base])).toEqual([]);
  }, 60_000);
});

describe("ADD of a URL: proxies and TLS from the environment", () => {
  let ca: TestCa;
  beforeAll(() => {
    ca = makeTestCa(join(work, "ca"));
  });
  const cli = fileURLToPath(new URL("../../cli/bin/tsbuild.js", import.meta.url));
  /** the CLI in a child with `env` (no proxy or CA variables of this process); asynchronous: the servers are in this process */
  async function tsbuild(dockerfile: string, env: Record<string, string>, extra: string[] = []): Promise<{ status: number | null; stderr: string; out: string }> {
    const dir = join(work, `cli-${Math.random().toString(16).slice(2)}`);
    const out = `${dir}-out`;
    spawnSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "Dockerfile"), dockerfile);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/_proxy$|^SSL_CERT_|^NODE_EXTRA_CA_CERTS$/i.test(k)));
    const child = spawn(process.execPath, [cli, "build", "-q", "--progress=plain", "-o", `type=local,dest=${out}`, ...extra, dir], {
      env: { ...clean, TSBUILD_ROOT: root, ...env }, stdio: ["ignore", "ignore", "pipe"], timeout: 60_000,
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    return { status, stderr, out };
  }

  it("https: a server whose CA is in SSL_CERT_FILE (or NODE_EXTRA_CA_CERTS) is trusted; without it the line fails saying how to trust it", async () => {
    const s = await serve({ "/secure.txt": text("over tls\n", { "last-modified": LM }) }, (h) => createHttpsServer({ key: ca.key, cert: ca.cert }, h), "https");
    const df = `FROM scratch\nADD ${s.base}/secure.txt /s/\n`;
    const trusted = await tsbuild(df, { SSL_CERT_FILE: ca.bundle });
    expect(trusted.status, trusted.stderr).toBe(0);
    expect(stat(join(trusted.out, "s/secure.txt"))).toEqual({ mode: "600", owner: "0:0", mtime: 1704164645, content: "over tls\n" });
    const extra = await tsbuild(`FROM scratch\nADD ${s.base}/secure.txt /s2/\n`, { NODE_EXTRA_CA_CERTS: ca.bundle });
    expect(extra.status, extra.stderr).toBe(0);
    // a directory as SSL_CERT_DIR, as Go reads it (the file is read; a hash link beside it is skipped)
    const dir = join(work, "certs");
    spawnSync("mkdir", ["-p", dir]);
    writeFileSync(join(dir, "test-ca.pem"), ca.caPem);
    symlinkSync("test-ca.pem", join(dir, "abcd1234.0"));
    const byDir = await tsbuild(`FROM scratch\nADD ${s.base}/secure.txt /s4/\n`, { SSL_CERT_DIR: `/nonexistent:${dir}` });
    expect(byDir.status, byDir.stderr).toBe(0);
    const untrusted = await tsbuild(`FROM scratch\nADD ${s.base}/secure.txt /s3/\n`, {});
    expect(untrusted.status).toBe(1);
    expect(untrusted.stderr).toContain("Dockerfile:2");
    expect(untrusted.stderr).toMatch(/download failed \(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
    expect(untrusted.stderr).toContain("update-ca-certificates");
  }, 120_000);

  it("HTTP_PROXY carries http URLs (a host only the proxy knows), never loopback ones; a proxy build arg does not (as BuildKit)", async () => {
    const origin = await serve({ "/direct.txt": text("direct\n") });
    const proxied: string[] = [];
    const proxy = await serve({});
    proxy.server.removeAllListeners("request");
    proxy.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      proxied.push(`${req.method} ${req.url} host=${req.headers.host}`);
      if (req.url === "http://files.tsbuild.invalid/via-proxy.txt") {
        res.writeHead(200, { "last-modified": LM });
        res.end("through the proxy\n");
        return;
      }
      res.writeHead(502);
      res.end();
    });
    const df = `FROM scratch\nADD http://files.tsbuild.invalid/via-proxy.txt /p/\nADD ${origin.base}/direct.txt /d/\n`;
    const r = await tsbuild(df, { HTTP_PROXY: proxy.base.replace("http://", "") });
    expect(r.status, r.stderr).toBe(0);
    expect(stat(join(r.out, "p/via-proxy.txt"))).toEqual({ mode: "600", owner: "0:0", mtime: 1704164645, content: "through the proxy\n" });
    expect(readFileSync(join(r.out, "d/direct.txt"), "utf8")).toBe("direct\n");
    expect(proxied).toEqual(["GET http://files.tsbuild.invalid/via-proxy.txt host=files.tsbuild.invalid"]);
    expect(origin.log).toHaveLength(1); // 127.0.0.1 went direct, as Go never proxies loopback
    // NO_PROXY names the host: direct, so it does not resolve
    const np = await tsbuild(`FROM scratch\nADD http://files.tsbuild.invalid/via-proxy.txt /p2/\n`, { HTTP_PROXY: proxy.base, NO_PROXY: ".tsbuild.invalid" });
    expect(np.status).toBe(1);
    expect(np.stderr).toContain("ENOTFOUND");
    // the dockerfile frontend gives proxy build args to RUN only, not to the http source
    const arg = await tsbuild(`FROM scratch\nADD http://files.tsbuild.invalid/via-proxy.txt /p3/\n`, {}, ["--build-arg", `HTTP_PROXY=${proxy.base}`]);
    expect(arg.status).toBe(1);
    expect(arg.stderr).toContain("ENOTFOUND");
    expect(proxied).toHaveLength(1);
  }, 120_000);
});
