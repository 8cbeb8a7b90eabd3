/**
 * Credentials from docker's config file ($DOCKER_CONFIG/config.json, default ~/.docker/config.json):
 * `auths` entries (`auth` = base64 user:password, or `identitytoken`), and credential helpers
 * (`credHelpers` per registry, `credsStore` for all) through `docker-credential-<name> get`.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "@tsbuild/oci";

export interface Credential {
  username?: string;
  password?: string;
  identityToken?: string;
  /** where it came from, for error messages */
  source: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [k: string]: unknown;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), ".docker"), "config.json");
}

async function readConfig(path: string): Promise<DockerConfig> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as DockerConfig;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** What docker's config file sets up for registries: the hosts it has logins for, and its credential helpers (no secret). */
export interface RegistryConfigSummary {
  path: string;
  logins: string[];
  credsStore?: string;
  credHelpers: Record<string, string>;
}

export async function registryConfigSummary(env: NodeJS.ProcessEnv = process.env): Promise<RegistryConfigSummary> {
  const path = dockerConfigPath(env);
  const c = await readConfig(path);
  return { path, logins: Object.keys(c.auths ?? {}), ...(c.credsStore ? { credsStore: c.credsStore } : {}), credHelpers: { ...(c.credHelpers ?? {}) } };
}

/** The keys docker uses for a registry in `auths`. */
function authKeys(domain: string): string[] {
  if (domain === "docker.io" || domain === "registry-1.docker.io" || domain === "index.docker.io") {
    return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];
  }
  return [domain, `https://${domain}`, `http://${domain}`];
}

function runHelper(name: string, domain: string, env: NodeJS.ProcessEnv): Promise<Credential | undefined> {
  return new Promise((resolve) => {
    // found on env.PATH, and run with env: the same environment the config path came from
    const c = spawn(`docker-credential-${name}`, ["get"], { stdio: ["pipe", "pipe", "pipe"], env });
    let out = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.on("error", () => resolve(undefined));
    c.on("close", (code) => {
      if (code !== 0) return resolve(undefined);
      try {
        const j = JSON.parse(out) as { Username?: string; Secret?: string };
        const source = `docker-credential-${name}`;
        if (j.Username === "<token>") resolve({ identityToken: j.Secret ?? "", source });
        else resolve({ username: j.Username ?? "", password: j.Secret ?? "", source });
      } catch {
        resolve(undefined);
      }
    });
    c.stdin.on("error", () => undefined); // a helper that is missing or exits early
    c.stdin.end(domain);
  });
}

export async function findCredential(domain: string, env: NodeJS.ProcessEnv = process.env): Promise<Credential | undefined> {
  const path = dockerConfigPath(env);
  const cfg = await readConfig(path);
  const helper = cfg.credHelpers?.[domain] ?? cfg.credsStore;
  if (helper) {
    const c = await runHelper(helper, domain, env);
    if (c) return c;
  }
  for (const k of authKeys(domain)) {
    const a = cfg.auths?.[k];
    if (!a) continue;
    if (a.identitytoken) return { identityToken: a.identitytoken, source: `${path} (auths.${k}.identitytoken)` };
    if (a.auth) {
      const dec = Buffer.from(a.auth, "base64").toString("utf8");
      const i = dec.indexOf(":");
      return { username: dec.slice(0, i), password: dec.slice(i + 1), source: `${path} (auths.${k})` };
    }
    if (a.username !== undefined) return { username: a.username, password: a.password ?? "", source: `${path} (auths.${k})` };
  }
  return undefined;
}

/** Stores user:password for a registry in `auths`, as `docker login` does without a helper. */
export async function saveCredential(domain: string, username: string, password: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const path = dockerConfigPath(env);
  const cfg = await readConfig(path);
  const key = domain === "docker.io" ? "https://index.docker.io/v1/" : domain;
  cfg.auths = { ...cfg.auths, [key]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, JSON.stringify(cfg, null, "\t") + "\n", 0o600);
  return path;
}
