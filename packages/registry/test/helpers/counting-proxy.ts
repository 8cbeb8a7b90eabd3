/**
 * Test support: a loopback HTTP proxy in front of a registry that counts requests and can inject
 * faults: cut a blob body midway, corrupt bytes, answer 500 or 429 with Retry-After, or stall.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse, type Server } from "node:http";

export type Fault =
  | { kind: "cut"; after: number; times: number }
  | { kind: "corrupt" }
  | { kind: "status"; status: number; retryAfter?: number; times: number }
  | { kind: "stall" };

export interface Proxy {
  host: string;
  requests: { method: string; url: string }[];
  /** faults applied to requests whose URL matches */
  faults: { match: RegExp; fault: Fault }[];
  stop(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  const requests: Proxy["requests"] = [];
  const faults: Proxy["faults"] = [];
  const sockets = new Set<import("node:net").Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "" });
    const f = faults.find((x) => x.match.test(req.url ?? "") && (!("times" in x.fault) || x.fault.times > 0));
    if (f && "times" in f.fault) f.fault.times--;
    if (f?.fault.kind === "status") {
      res.writeHead(f.fault.status, f.fault.retryAfter !== undefined ? { "retry-after": String(f.fault.retryAfter) } : {});
      res.end();
      return;
    }
    if (f?.fault.kind === "stall") return; // never answer
    const [host, port] = target.split(":");
    const up = httpRequest({ host, port: Number(port), method: req.method, path: req.url, headers: { ...req.headers, host: target } }, (ur) => {
      const headers = { ...ur.headers };
      if (ur.headers.location) headers.location = String(ur.headers.location).replace(target, server.address() && typeof server.address() === "object" ? `127.0.0.1:${(server.address() as { port: number }).port}` : target);
      res.writeHead(ur.statusCode ?? 502, headers);
      let sent = 0;
      ur.on("data", (chunk: Buffer) => {
        if (f?.fault.kind === "cut" && sent + chunk.length > f.fault.after) {
          res.write(chunk.subarray(0, Math.max(0, f.fault.after - sent)));
          res.socket?.destroy();
          ur.destroy();
          return;
        }
        if (f?.fault.kind === "corrupt" && sent === 0 && chunk.length > 0) {
          chunk = Buffer.from(chunk);
          chunk[0] = (chunk[0] as number) ^ 0xff;
        }
        sent += chunk.length;
        res.write(chunk);
      });
      ur.on("end", () => res.end());
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    faults,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
