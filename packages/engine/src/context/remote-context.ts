/**
 * A named context that lives elsewhere: a git repository or an http(s) download. The one place
 * that fetches one (to be wired to remote/git-*.ts and remote/http-download.ts): until then it
 * refuses, so a build never goes on without the context it was given.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { NotSupportedError } from "../errors.js";
import { redactUrl, type NamedContextSpec } from "./named-contexts.js";
import { fetchGitSource } from "../remote/git-fetch.js";

export type RemoteContextSpec = Extract<NamedContextSpec, { kind: "git" | "http" }>;

/** What a fetched remote context is: a directory the build reads like a local context. */
export interface FetchedContext {
  /** the tree: a git checkout (at the ref and subdirectory the URL names), or a directory holding the one downloaded file */
  dir: string;
  /** what it is for cache keys beyond its content (e.g. `git:COMMIT`), never a credential */
  identity: string;
}

/** What a remote context may use to reach its source: the build's secrets (GIT_AUTH_TOKEN…) and its ssh agent. */
export interface RemoteAccess {
  secrets: ReadonlyMap<string, Buffer>;
  /** the `--ssh default` agent's socket, for git over ssh */
  sshAuthSock(): Promise<string | undefined>;
}

/**
 * Fetches a git or http(s) named context into `into` (an empty directory in the build's scratch):
 * a git one as ADD fetches a repository (remote/git-fetch.ts: the ref and subdirectory its URL names,
 * keyed by BuildKit's snapshot key); an http(s) one is not fetched yet.
 */
export async function fetchRemoteContext(name: string, spec: RemoteContextSpec, into: string, signal: AbortSignal, access: RemoteAccess): Promise<FetchedContext> {
  if (spec.kind === "git") {
    const dir = join(into, "tree");
    const scratch = join(into, "scratch");
    await mkdir(dir, { recursive: true });
    await mkdir(scratch, { recursive: true });
    const sshAuthSock = await access.sshAuthSock();
    const r = await fetchGitSource(spec.url, dir, { secrets: access.secrets, scratch, signal, ...(sshAuthSock ? { sshAuthSock } : {}) });
    return { dir, identity: `git:${r.key}` };
  }
  throw new NotSupportedError(`build context ${name}=${redactUrl(spec.url)}: named contexts from an http(s) download are not supported yet; download it and give the directory (--build-context ${name}=./DIR)`);
}
