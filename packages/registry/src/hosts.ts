/** Where a registry name is reached: docker.io's API host, and plain http for loopback/insecure hosts. */

export function apiHost(domain: string): string {
  return domain === "docker.io" || domain === "index.docker.io" ? "registry-1.docker.io" : domain;
}

function hostOnly(hostport: string): string {
  if (hostport.startsWith("[")) return hostport.slice(1, hostport.indexOf("]"));
  const i = hostport.lastIndexOf(":");
  return i === -1 ? hostport : hostport.slice(0, i);
}

/** localhost, 127.0.0.0/8 and ::1 use plain http, as in docker; so do --insecure-registry hosts. */
export function isInsecure(domain: string, insecure: readonly string[] = []): boolean {
  const h = hostOnly(domain);
  if (h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h)) return true;
  return insecure.some((i) => i === domain || i === h);
}

export function baseUrl(domain: string, insecure: readonly string[] = []): string {
  return `${isInsecure(domain, insecure) ? "http" : "https"}://${apiHost(domain)}`;
}
