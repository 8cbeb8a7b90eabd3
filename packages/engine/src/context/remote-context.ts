/**
 * A named context that lives elsewhere: a git repository or an http(s) download. The one place
 * that fetches one (to be wired to remote/git-*.ts and remote/http-download.ts): until then it
 * refuses, so a build never goes on without the context it was given.
 */
import { NotSupportedError } from "../errors.js";
import { redactUrl, type NamedContextSpec } from "./named-contexts.js";

export type RemoteContextSpec = Extract<NamedContextSpec, { kind: "git" | "http" }>;

/** What a fetched remote context is: a directory the build reads like a local context. */
export interface FetchedContext {
  /** the tree: a git checkout (at the ref and subdirectory the URL names), or a directory holding the one downloaded file */
  dir: string;
  /** what it is for cache keys beyond its content (e.g. `git:COMMIT`), never a credential */
  identity: string;
}

/**
 * Fetches a git or http(s) named context into `into` (an empty directory in the build's scratch).
 * @throws NotSupportedError until the fetchers are wired in
 */
export async function fetchRemoteContext(name: string, spec: RemoteContextSpec, into: string, signal: AbortSignal): Promise<FetchedContext> {
  void into;
  void signal;
  const what = spec.kind === "git" ? "a git repository" : "an http(s) download";
  throw new NotSupportedError(`build context ${name}=${redactUrl(spec.url)}: named contexts from ${what} are not supported yet; clone or download it and give the directory (--build-context ${name}=./DIR)`);
}
