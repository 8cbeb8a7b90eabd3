/**
 * An HTTP client for one registry on undici: auth (anonymous or credentialed Bearer tokens from the
 * WWW-Authenticate challenge, cached per scope; Basic) over the shared transport (transport/: system
 * CAs, proxies from the environment), bounded retries with backoff for 5xx,
 * 429 and dropped connections (Retry-After honoured), and timeouts that turn a stalled server
 * into a clear error.
 */
import { request, type Dispatcher } from "undici";
import { HttpTransport } from "./transport/http-transport.js";
import { baseUrl } from "./hosts.js";
import { findCredential, type Credential } from "./credentials.js";
import { NotFoundError, RateLimitError, RegistryError, RegistryTimeoutError, UnauthorizedError } from "./errors.js";

export interface ClientOptions {
  insecureRegistries?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** a credential to use instead of docker's config */
  credential?: Credential;
  /** retries after the first try (default 4) */
  retries?: number;
  /** first backoff in ms (default 200, doubling) */
  backoffMs?: number;
  /** headers and idle-body timeout in ms (default 30 s) */
  timeoutMs?: number;
  /** longest Retry-After we wait, in seconds (default 60) */
  maxRetryAfterSeconds?: number;
  /** a transport to share (a build's: one connection pool for its registries and downloads); not closed by close(), and timeoutMs does not apply to it */
  transport?: HttpTransport;
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)="([^"]*)"|(\w+)=([^,\s]*)/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2] as string)) !== null) params[(p[1] ?? p[3]) as string] = (p[2] ?? p[4]) as string;
  return { scheme: (m[1] as string).toLowerCase(), params };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const header = (h: Response["headers"], k: string): string | undefined => {
  const v = h[k.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

export class RegistryClient {
  readonly base: string;
  private readonly tokens = new Map<string, string>();
  private basic: string | undefined;
  private credential: Credential | undefined | null = null;
  private readonly agent: HttpTransport;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxRetryAfter: number;

  constructor(readonly domain: string, private readonly opts: ClientOptions = {}) {
    this.base = baseUrl(domain, opts.insecureRegistries);
    const timeout = opts.timeoutMs ?? 30_000;
    // the system CAs trusted, the environment's proxies used, as BuildKit's registry client (transport/)
    this.agent = opts.transport ?? new HttpTransport({ timeoutMs: timeout, connections: 8, ...(opts.env ? { env: opts.env } : {}) });
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 200;
    this.maxRetryAfter = opts.maxRetryAfterSeconds ?? 60;
  }

  async close(): Promise<void> {
    if (this.agent !== this.opts.transport) await this.agent.close();
  }

  private async cred(): Promise<Credential | undefined> {
    if (this.credential === null) this.credential = this.opts.credential ?? (await findCredential(this.domain, this.opts.env));
    return this.credential;
  }

  private async fetchToken(ch: Challenge, scope: string): Promise<string> {
    const realm = ch.params.realm;
    if (!realm) throw new RegistryError(`${this.domain}: Bearer challenge without a realm`);
    const url = new URL(realm);
    if (ch.params.service) url.searchParams.set("service", ch.params.service);
    url.searchParams.set("scope", scope);
    const c = await this.cred();
    const headers: Record<string, string> = {};
    if (c?.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${c.username}:${c.password ?? ""}`).toString("base64")}`;
    let res: Dispatcher.ResponseData;
    if (c?.identityToken) {
      const body = new URLSearchParams({ grant_type: "refresh_token", refresh_token: c.identityToken, service: ch.params.service ?? "", scope, client_id: "tsbuild" });
      res = await request(realm, { method: "POST", body: body.toString(), headers: { "content-type": "application/x-www-form-urlencoded" }, dispatcher: this.agent });
    } else {
      res = await request(url, { headers, dispatcher: this.agent });
    }
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new UnauthorizedError(`${this.domain}: the token server refused ${c ? `the credentials from ${c.source}` : "anonymous access"} for ${scope} (log in with tsbuild login ${this.domain})`, res.statusCode);
    }
    if (res.statusCode >= 300) throw new RegistryError(`${this.domain}: token server answered ${res.statusCode}: ${text.slice(0, 200)}`, res.statusCode);
    const j = JSON.parse(text) as { token?: string; access_token?: string };
    const token = j.token ?? j.access_token;
    if (!token) throw new RegistryError(`${this.domain}: token server gave no token`);
    return token;
  }

  private authHeader(scope: string): string | undefined {
    const t = this.tokens.get(scope);
    if (t) return `Bearer ${t}`;
    return this.basic;
  }

  /**
   * One request with auth and retries. `body` may be a function so a retry sends it again.
   * `scope` is the token scope, e.g. "repository:library/busybox:pull".
   */
  async send(
    method: Dispatcher.HttpMethod,
    path: string,
    opts: { scope: string; headers?: Record<string, string>; body?: () => Dispatcher.DispatchOptions["body"]; okStatuses?: number[]; retryBody?: boolean } ,
  ): Promise<Response> {
    const url = path.startsWith("http") ? path : `${this.base}${path}`;
    let authTried = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...opts.headers };
      const auth = this.authHeader(opts.scope);
      if (auth) headers.authorization = auth;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, { method, headers, body: opts.body?.() ?? null, dispatcher: this.agent, maxRedirections: method === "GET" || method === "HEAD" ? 5 : 0 });
      } catch (e) {
        const code = (e as { code?: string }).code ?? "";
        const timeout = code.includes("TIMEOUT");
        if (attempt < this.retries && (opts.retryBody ?? true)) {
          await sleep(this.backoffMs * 2 ** attempt);
          continue;
        }
        if (timeout) throw new RegistryTimeoutError(`${this.domain}: no answer to ${method} ${path} in time (${code}); the registry stalls or is unreachable`);
        throw new RegistryError(`${this.domain}: ${method} ${path} failed: ${(e as Error).message}`);
      }
      const status = res.statusCode;
      if (status === 401 && !authTried) {
        authTried = true;
        await res.body.dump();
        const ch = parseChallenge(header(res.headers, "www-authenticate") ?? "");
        if (ch?.scheme === "bearer") {
          this.tokens.set(opts.scope, await this.fetchToken(ch, opts.scope));
          attempt--;
          continue;
        }
        if (ch?.scheme === "basic") {
          const c = await this.cred();
          if (c?.username !== undefined) {
            this.basic = `Basic ${Buffer.from(`${c.username}:${c.password ?? ""}`).toString("base64")}`;
            attempt--;
            continue;
          }
        }
        throw new UnauthorizedError(`${this.domain}: authentication required for ${method} ${path} and no credentials were found (run tsbuild login ${this.domain})`, 401);
      }
      if (status === 401 || status === 403) {
        await res.body.dump();
        const c = await this.cred();
        throw new UnauthorizedError(`${this.domain}: ${status === 401 ? "unauthorized" : "access denied"} for ${method} ${path} with ${c ? `credentials from ${c.source}` : "no credentials"} (check them with tsbuild login ${this.domain})`, status);
      }
      if (status === 429 || status >= 500) {
        const ra = Number(header(res.headers, "retry-after"));
        await res.body.dump();
        if (attempt < this.retries && (opts.retryBody ?? true)) {
          const wait = Number.isFinite(ra) && ra >= 0 ? Math.min(ra, this.maxRetryAfter) * 1000 : this.backoffMs * 2 ** attempt;
          await sleep(wait);
          continue;
        }
        if (status === 429) throw new RateLimitError(`${this.domain}: rate limited (429)${Number.isFinite(ra) ? `; retry after ${ra} s` : ""}`, Number.isFinite(ra) ? ra : undefined);
        throw new RegistryError(`${this.domain}: ${method} ${path} answered ${status} after ${attempt + 1} tries`, status);
      }
      return { status, headers: res.headers, body: res.body };
    }
  }

  /** Throws a clear error for an unexpected status, with the registry's error message. */
  async expect(res: Response, ok: number[], what: string): Promise<void> {
    if (ok.includes(res.status)) return;
    let detail = "";
    try {
      const j = JSON.parse(await res.body.text()) as { errors?: { code?: string; message?: string }[] };
      detail = (j.errors ?? []).map((e) => `${e.code}: ${e.message}`).join("; ");
    } catch {
      detail = "";
    }
    if (res.status === 404) throw new NotFoundError(`${this.domain}: ${what} not found${detail ? ` (${detail})` : ""}`, 404);
    throw new RegistryError(`${this.domain}: ${what}: unexpected status ${res.status}${detail ? ` (${detail})` : ""}`, res.status);
  }
}
