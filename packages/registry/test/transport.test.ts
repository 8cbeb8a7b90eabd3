/**
 * The shared HTTP transport: proxies chosen as Go's httpproxy chooses them, the system's CA store
 * read as Go's crypto/x509 reads it, and the registry client going through both (an https
 * registry whose CA is only in SSL_CERT_FILE; an http registry only a proxy can reach).
 */
import { afterAll, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { HttpTransport, proxyConfig, proxyFor, RegistryClient, systemCertificates } from "../src/index.js";
import { makeTestCa } from "../../../fixtures/support/test-ca.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-transport-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("proxyFor (Go's httpproxy rules)", () => {
  const pick = (url: string, env: NodeJS.ProcessEnv) => proxyFor(new URL(url), proxyConfig(env))?.href;
  it("HTTP_PROXY for http, HTTPS_PROXY for https, upper case first, http:// assumed", () => {
    const env = { HTTP_PROXY: "proxy:3128", http_proxy: "http://lower:1", HTTPS_PROXY: "https://sp:443" };
    expect(pick("http://example.com/x", env)).toBe("http://proxy:3128/");
    expect(pick("https://example.com/x", env)).toBe("https://sp/");
    expect(pick("http://example.com/x", { http_proxy: "http://lower:1" })).toBe("http://lower:1/");
    expect(pick("https://example.com/x", { HTTP_PROXY: "http://p:1" })).toBeUndefined();
  });
  it("never for localhost or loopback addresses; never with REQUEST_METHOD set (CGI)", () => {
    const env = { HTTP_PROXY: "http://p:1" };
    for (const u of ["http://localhost:5000/", "http://127.0.0.1/", "http://127.8.9.10:80/", "http://[::1]:5000/"]) expect(pick(u, env), u).toBeUndefined();
    expect(pick("http://10.0.0.1/", env)).toBe("http://p:1/");
    expect(pick("http://example.com/", { ...env, REQUEST_METHOD: "GET" })).toBeUndefined();
  });
  it("NO_PROXY: *, domains with their subdomains, .domain, *.domain, ports, IPs and CIDRs", () => {
    const env = { HTTP_PROXY: "http://p:1", NO_PROXY: "example.com, .only-sub.org,*.star.net, port.io:8080, 10.1.2.3, 192.168.0.0/16, [2001:db8::1]:80" };
    const direct = ["http://example.com/", "http://a.b.example.com/", "http://x.only-sub.org/", "http://y.star.net/", "http://port.io:8080/", "http://10.1.2.3/", "http://192.168.7.7/", "http://[2001:db8::1]/"];
    const proxied = ["http://notexample.com/", "http://only-sub.org.evil/", "http://port.io/", "http://10.1.2.4/", "http://[2001:db8::2]/"];
    for (const u of direct) expect(pick(u, env), u).toBeUndefined();
    for (const u of proxied) expect(pick(u, env), u).toBe("http://p:1/");
    expect(pick("http://anything/", { HTTP_PROXY: "http://p:1", no_proxy: "*" })).toBeUndefined();
  });
});

describe("systemCertificates (Go's crypto/x509 on Linux)", () => {
  const ca = makeTestCa(join(work, "ca"));
  it("SSL_CERT_FILE replaces the bundle list; SSL_CERT_DIR's files are read, hash links beside them skipped, other PEM blocks ignored", () => {
    const file = join(work, "bundle.pem");
    writeFileSync(file, `junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n${ca.caPem}`);
    const dir = join(work, "certs");
    mkdirSync(dir);
    writeFileSync(join(dir, "one.pem"), ca.caPem);
    symlinkSync("one.pem", join(dir, "1234abcd.0"));
    const empty = join(work, "empty");
    mkdirSync(empty);
    expect(systemCertificates({ SSL_CERT_FILE: file, SSL_CERT_DIR: empty })).toEqual([ca.caPem.trim()]);
    expect(systemCertificates({ SSL_CERT_FILE: join(work, "missing.pem"), SSL_CERT_DIR: `${join(work, "nope")}:${dir}` })).toEqual([ca.caPem.trim()]);
    // the machine's own store, as Debian's ca-certificates installs it
    expect(systemCertificates({}).length).toBeGreaterThan(50);
  });
});

describe("the registry client over the transport", () => {
  const servers: import("node:net").Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });
  const listen = async (s: import("node:net").Server) => {
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return (s.address() as AddressInfo).port;
  };
  const v2 = (_q: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end("{}");
  };

  it("trusts an https registry whose CA is in SSL_CERT_FILE (and only then)", async () => {
    const ca = makeTestCa(join(work, "ca2"));
    const port = await listen(createHttpsServer({ key: ca.key, cert: ca.cert }, v2));
    const ok = new RegistryClient(`127.0.0.1:${port}`, { env: { SSL_CERT_FILE: ca.bundle }, retries: 0 });
    try {
      expect((await ok.send("GET", `https://127.0.0.1:${port}/v2/`, { scope: "" })).status).toBe(200);
    } finally {
      await ok.close();
    }
    const no = new RegistryClient(`127.0.0.1:${port}`, { env: {}, retries: 0 });
    try {
      await expect(no.send("GET", `https://127.0.0.1:${port}/v2/`, { scope: "" })).rejects.toThrow(/certificate|UNABLE_TO|self.signed/i);
    } finally {
      await no.close();
    }
  });

  it("tunnels https through HTTPS_PROXY with CONNECT, and checks the server's certificate against SSL_CERT_FILE", async () => {
    const ca = makeTestCa(join(work, "ca3"));
    const httpsPort = await listen(createHttpsServer({ key: ca.key, cert: ca.cert }, (_q, res) => res.end("tunnelled\n")));
    const connects: string[] = [];
    const proxy = createServer();
    proxy.on("connect", (req: IncomingMessage, socket: import("node:net").Socket, head: Buffer) => {
      connects.push(String(req.url));
      const up = connect(httpsPort, "127.0.0.1", () => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      up.on("error", () => socket.destroy());
      socket.on("error", () => up.destroy());
    });
    const proxyPort = await listen(proxy);
    const t = new HttpTransport({ env: { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, SSL_CERT_FILE: ca.bundle } });
    try {
      const res = await t.get(new URL("https://secure.tsbuild.invalid:8443/x"), { headers: {} });
      expect(res.statusCode).toBe(200);
      let body = "";
      for await (const c of res.body) body += String(c);
      expect(body).toBe("tunnelled\n");
    } finally {
      await t.close();
    }
    expect(connects).toEqual(["secure.tsbuild.invalid:8443"]);
  });

  it("reaches a registry through HTTP_PROXY (absolute-form requests, as Go sends them)", async () => {
    const seen: string[] = [];
    const port = await listen(createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      v2(req, res);
    }));
    const c = new RegistryClient("registry.tsbuild.invalid:5000", { insecureRegistries: ["registry.tsbuild.invalid:5000"], env: { HTTP_PROXY: `127.0.0.1:${port}` }, retries: 0 });
    try {
      expect((await c.send("GET", "/v2/", { scope: "" })).status).toBe(200);
    } finally {
      await c.close();
    }
    expect(seen).toEqual(["GET http://registry.tsbuild.invalid:5000/v2/"]);
  });
});
