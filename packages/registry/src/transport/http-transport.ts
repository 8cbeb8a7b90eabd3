/**
 * The one HTTP transport of a build (undici): registry requests and ADD's downloads go through it.
 * What it adds to a plain undici Agent is what BuildKit's Go client does: the system's CAs trusted
 * besides Node's (tls-trust.ts), and each request sent through the proxy the environment names
 * for its URL (proxy-env.ts: through HTTP_PROXY as an absolute-form request for http, a CONNECT
 * tunnel for https), or directly. Timeouts bound the connect, the headers and every idle gap of a
 * body, so a stalled server becomes an error.
 */
import { Agent, Dispatcher, ProxyAgent } from "undici";
import type { Readable } from "node:stream";
import type { SecureContext } from "node:tls";
import { proxyConfig, proxyFor, type ProxyConfig } from "./proxy-env.js";
import { trustedSecureContext } from "./tls-trust.js";

export interface TransportOptions {
  /** where proxies and CA variables are read (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** connect, headers and idle-body timeout in ms (default 30 s) */
  timeoutMs?: number;
  /** connections per origin (default 8) */
  connections?: number;
}

/** A response whose body is still to be read (or dumped). */
export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable & { dump(): Promise<void> };
}

/** A request the environment's proxy settings cannot carry (a bad address, a SOCKS proxy). */
export class ProxySettingError extends Error {
  override readonly name = "ProxySettingError";
}

export class HttpTransport extends Dispatcher {
  private direct: Agent | undefined;
  private readonly proxied = new Map<string, ProxyAgent>();
  private readonly proxies: ProxyConfig;
  private readonly env: NodeJS.ProcessEnv;
  private readonly timeout: number;
  private readonly connections: number;

  constructor(opts: TransportOptions = {}) {
    super();
    this.env = opts.env ?? process.env;
    this.timeout = opts.timeoutMs ?? 30_000;
    this.connections = opts.connections ?? 8;
    this.proxies = proxyConfig(this.env);
  }

  /** the CAs, read once per process on the first request (most builds make none) */
  private get tls(): SecureContext {
    return trustedSecureContext(this.env);
  }

  private timeouts() {
    return { headersTimeout: this.timeout, bodyTimeout: this.timeout, connectTimeout: this.timeout };
  }

  /** The proxy a request to `url` goes through, without its credentials (for messages); undefined: none. */
  proxyOf(url: URL): string | undefined {
    const p = proxyFor(url, this.proxies);
    return p ? `${p.protocol}//${p.host}` : undefined;
  }

  private route(origin: string): Dispatcher {
    const url = new URL(origin);
    const proxy = proxyFor(url, this.proxies);
    if (!proxy) {
      if (this.proxies.invalid && (url.protocol === "http:" || url.protocol === "https:")) throw new ProxySettingError(`${this.proxies.invalid} (give it as http://HOST:PORT)`);
      this.direct ??= new Agent({ ...this.timeouts(), connections: this.connections, connect: { timeout: this.timeout, secureContext: this.tls } });
      return this.direct;
    }
    if (proxy.protocol !== "http:" && proxy.protocol !== "https:") {
      throw new ProxySettingError(`the proxy for ${url.protocol.slice(0, -1)} is a ${proxy.protocol.slice(0, -1)} proxy, which tsbuild cannot use (give an http:// or https:// proxy)`);
    }
    let agent = this.proxied.get(proxy.href);
    if (!agent) {
      agent = new ProxyAgent({
        uri: proxy.href, ...this.timeouts(), connections: this.connections, proxyTunnel: false,
        requestTls: { timeout: this.timeout, secureContext: this.tls }, proxyTls: { timeout: this.timeout, secureContext: this.tls },
      });
      this.proxied.set(proxy.href, agent);
    }
    return agent;
  }

  /** One GET of `url`, no redirect followed (the caller follows them: each hop is routed on its own). */
  async get(url: URL, opts: { headers: Record<string, string>; signal?: AbortSignal }): Promise<HttpResponse> {
    const res = await this.request({
      origin: url.origin, path: `${url.pathname}${url.search}`, method: "GET", headers: opts.headers, maxRedirections: 0,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    let to: Dispatcher;
    try {
      to = this.route(String(options.origin));
    } catch (e) {
      handler.onError?.(e as Error);
      return true;
    }
    return to.dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all([this.direct?.close(), ...[...this.proxied.values()].map((a) => a.close())]).then(() => undefined);
    if (callback) void done.then(callback);
    else return done;
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === "function" ? null : a ?? null;
    const cb = typeof a === "function" ? a : b;
    const done = Promise.all([this.direct?.destroy(err), ...[...this.proxied.values()].map((x) => x.destroy(err))]).then(() => undefined);
    if (cb) void done.then(cb);
    else return done;
  }
}
