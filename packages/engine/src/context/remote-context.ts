/**
 * A named context that lives elsewhere: a git repository or an http(s) download. The one place
 * that fetches one (to be wired to remote/git-*.ts and remote/http-download.ts): until then it
 * refuses, so a build never goes on without the context it was given.
 */
import { mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { redactUrl, type NamedContextSpec } from "./named-contexts.js";
import { fetchGitSource } from "../remote/git-fetch.js";
import { downloadFile, DownloadError } from "../remote/http-download.js";
import { httpFileName } from "../remote/http-file-name.js";
import type { HttpTransport } from "@tsbuild/registry";
import { BuildContextError } from "./named-contexts.js";

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
  /** the build's HTTP transport (proxies and CAs from the environment), for a download */
  transport(): Promise<HttpTransport>;
}

/**
 * Fetches a git or http(s) named context into `into` (an empty directory in the build's scratch):
 * a git one as ADD fetches a repository (remote/git-fetch.ts: the ref and subdirectory its URL names,
 * keyed by BuildKit's snapshot key); an http(s) one is downloaded as ADD downloads (0600, its
 * Last-Modified time) into a directory of its own, named by the URL's path, keyed by its content.
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
  const dir = join(into, "tree");
  await mkdir(dir, { recursive: true });
  try {
    // downloaded beside the tree, then named as BuildKit's http source names it (Content-Disposition first)
    const part = join(into, "download.part");
    const r = await downloadFile(spec.url, part, { transport: await access.transport(), signal });
    if (r.kind !== "file") throw new DownloadError("download failed (not modified, but nothing was asked for)");
    const file = httpFileName(spec.url, r.contentDisposition);
    if (file === "." || file === "..") throw new DownloadError(`download failed (the server names the file ${JSON.stringify(file)})`);
    await rename(part, join(dir, file));
    return { dir, identity: `http:${r.digest}:${file}` };
  } catch (e) {
    if (e instanceof DownloadError) throw new BuildContextError(`failed to get build context ${name}=${redactUrl(spec.url)}: ${e.message}`);
    throw e;
  }
}
