/**
 * Which proxy a request goes through, as Go's net/http (golang.org/x/net/http/httpproxy) reads the
 * environment, so tsbuild (daemonless: its own process environment) picks what BuildKit's daemon
 * picks from its own: HTTP_PROXY for http and HTTPS_PROXY for https URLs (upper case first, then
 * lower; an address without a scheme is http://), never for localhost or a loopback address,
 * never for a host NO_PROXY names (`*`; comma-separated IPs, CIDRs, `host`, `.host`, `*.host`,
 * each with an optional `:port`; a domain matches its subdomains too). HTTP_PROXY is ignored when
 * REQUEST_METHOD is set (CGI). ALL_PROXY is not read (Go does not).
 */
import { BlockList, isIP } from "node:net";
import { domainToASCII } from "node:url";

export interface ProxyConfig {
  http?: URL;
  https?: URL;
  /** NO_PROXY as matchers */
  noProxy: { all: boolean; cidrs: BlockList; ips: { ip: string; port: string }[]; domains: { host: string; port: string; matchHost: boolean }[] };
  /** set when a proxy variable could not be read as a URL (the request then fails saying so) */
  invalid?: string;
}

const anyOf = (env: NodeJS.ProcessEnv, ...names: string[]): string => {
  for (const n of names) if (env[n]) return env[n] as string;
  return "";
};

function parseProxy(value: string, name: string, cfg: ProxyConfig): URL | undefined {
  if (!value) return undefined;
  const parse = (s: string): URL | undefined => {
    try {
      const u = new URL(s);
      return u.host ? u : undefined;
    } catch {
      return undefined;
    }
  };
  // Go: a value that is no URL with a scheme and a host is tried again with http:// before it
  const u = (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(value) ? parse(value) : undefined) ?? parse(`http://${value}`);
  if (!u) cfg.invalid = `${name} is not a proxy address`;
  return u;
}

const normalIp = (s: string): string => s.toLowerCase();

/** The proxy settings in `env` (Go's httpproxy.FromEnvironment). */
export function proxyConfig(env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const cfg: ProxyConfig = { noProxy: { all: false, cidrs: new BlockList(), ips: [], domains: [] } };
  const http = parseProxy(anyOf(env, "HTTP_PROXY", "http_proxy"), "HTTP_PROXY", cfg);
  const https = parseProxy(anyOf(env, "HTTPS_PROXY", "https_proxy"), "HTTPS_PROXY", cfg);
  if (http && !env.REQUEST_METHOD) cfg.http = http;
  if (https) cfg.https = https;
  for (let p of anyOf(env, "NO_PROXY", "no_proxy").split(",")) {
    p = p.trim().toLowerCase();
    if (!p) continue;
    if (p === "*") {
      cfg.noProxy.all = true;
      break;
    }
    const cidr = /^(.+)\/(\d{1,3})$/.exec(p);
    if (cidr && isIP(cidr[1] as string)) {
      const type = isIP(cidr[1] as string) === 6 ? "ipv6" : "ipv4";
      const prefix = Number(cidr[2]);
      if (prefix <= (type === "ipv6" ? 128 : 32)) cfg.noProxy.cidrs.addSubnet(cidr[1] as string, prefix, type);
      continue;
    }
    let host = p;
    let port = "";
    const hp = /^(\[[^\]]*\]|[^:]*):(\d*)$/.exec(p);
    if (hp) {
      host = hp[1] as string;
      port = hp[2] as string;
      if (!host) continue;
      if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
    }
    if (isIP(host)) {
      cfg.noProxy.ips.push({ ip: normalIp(host), port });
      continue;
    }
    if (!host) continue;
    if (host.startsWith("*.")) host = host.slice(1);
    const matchHost = !host.startsWith(".");
    if (matchHost) host = `.${host}`;
    cfg.noProxy.domains.push({ host: domainToASCII(host.slice(1)) ? `.${domainToASCII(host.slice(1))}` : host, port, matchHost });
  }
  return cfg;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

const isLoopback = (ip: string): boolean => LOOPBACK.check(ip, isIP(ip) === 6 ? "ipv6" : "ipv4");

/** The proxy for `url` (undefined: go direct). */
export function proxyFor(url: URL, cfg: ProxyConfig): URL | undefined {
  const proxy = url.protocol === "https:" ? cfg.https : url.protocol === "http:" ? cfg.http : undefined;
  if (!proxy) return undefined;
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  if (host === "localhost") return undefined;
  const ipKind = isIP(host);
  if (ipKind && isLoopback(host)) return undefined;
  const np = cfg.noProxy;
  if (np.all) return undefined;
  if (ipKind) {
    if (np.cidrs.check(host, ipKind === 6 ? "ipv6" : "ipv4")) return undefined;
    if (np.ips.some((m) => (m.ip === normalIp(host) || sameIp(m.ip, host)) && (!m.port || m.port === port))) return undefined;
  }
  const h = host.toLowerCase();
  if (np.domains.some((m) => (h.endsWith(m.host) || (m.matchHost && h === m.host.slice(1))) && (!m.port || m.port === port))) return undefined;
  return proxy;
}

function sameIp(a: string, b: string): boolean {
  if (isIP(a) !== isIP(b)) return false;
  const bl = new BlockList();
  bl.addAddress(a, isIP(a) === 6 ? "ipv6" : "ipv4");
  return bl.check(b, isIP(b) === 6 ? "ipv6" : "ipv4");
}
