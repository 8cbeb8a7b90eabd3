/**
 * Fetching a git source into a directory, the way BuildKit's git source does it (source/git, 0.13
 * with the fixes and the checksum of HEAD), with the same `git` commands so the tree — and the .git
 * of --keep-git-dir — comes out as BuildKit's does from a fresh remote:
 *
 * 1. **Resolve** (`resolveGit`, BuildKit's CacheKey): a full commit id needs no network; else the
 *    ref (or the remote's default branch, `ls-remote --symref HEAD`) is looked up with
 *    `ls-remote REMOTE REF REF^{}`: an exact `refs/…` name, then a branch, then a tag (an annotated
 *    tag is checked out as its commit). `--checksum` / `?checksum=` must be a prefix of that commit
 *    (or of the annotated tag's object). The result's `key` is BuildKit's snapshot key (commit,
 *    `.git#REF` when the .git is kept, `:SUBDIR`, `(skip-submodules)`, `(mtime=commit)`): a step
 *    keyed by it reruns when a branch moves, and a pinned commit is a cache hit with no network.
 * 2. **Fetch** (`checkoutGit`) into a bare repository of its own under `scratch` (BuildKit keeps one
 *    per remote; this one lives as long as the step): `fetch --depth=1 --no-tags origin
 *    --force -- REF:tags/REF` for a name, `fetch --tags origin COMMIT` for a commit id (then the
 *    whole remote if the server refuses an unadvertised commit), without --depth where a server
 *    cannot do shallow fetches.
 * 3. **Check out** into `dest`: `git checkout REF -- .` from the bare repository, or, with
 *    keep-git-dir and no subdir, a repository of its own in `dest/.git` fetched from the bare one
 *    (`fetch -u --depth=1 origin REF:REF`, `checkout FETCH_HEAD`, origin set to the remote with its
 *    credentials masked, reflogs expired, FETCH_HEAD removed); submodules with `submodule update
 *    --init --recursive --depth=1` (unless `submodules=false`), before a subdir is taken (BuildKit
 *    HEAD; 0.13 checked them out into the subdir's tree by mistake); a subdir must be a path of
 *    directories, its entries become `dest`'s. Files get the checkout's times (now), modes 0644/0755
 *    (umask 022) and the fetching user's owner; `mtime=commit` sets every time to the commit's.
 *
 * Credentials: http(s) auth from the build's secrets (git-auth.ts), only in git's environment; ssh
 * through the agent socket given (`sshAuthSock`), host keys accepted on first use into a known_hosts
 * file in `scratch` (BuildKit scans the host's key when it makes the build's LLB and trusts it).
 */
import { lstat, lutimes, mkdir, readdir, rename, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { GitCommandError, runGit, type GitRunOptions, scrub } from "./git-cli.js";
import { gitAuth } from "./git-auth.js";
import { isCommitSha, parseGitSource, redactCredentials, type GitSource } from "./git-url.js";
import { toolPath } from "@tsbuild/oci";

export interface GitFetchOptions {
  /** the build's secrets (GIT_AUTH_TOKEN, GIT_AUTH_HEADER and their `.<host>` forms are read) */
  secrets?: ReadonlyMap<string, Buffer>;
  /** the ssh agent socket for ssh remotes (an ssh remote without one is an error) */
  sshAuthSock?: string;
  /** a directory the caller owns and removes: the bare repository, the work tree, known_hosts */
  scratch: string;
  signal?: AbortSignal;
}

/** What to fetch: a parsed source plus the ADD flags that add to it. */
export interface GitRequest extends GitSource {
  keepGitDir?: boolean;
}

export interface ResolvedGit {
  request: GitRequest;
  /** the ref as fetched: the given one, the default branch's name, or the commit id */
  ref: string;
  /** what `ref` names on the remote: the commit, or an annotated tag's object */
  object: string;
  /** the commit checked out */
  commit: string;
  /** BuildKit's snapshot key: what the checkout's content depends on */
  key: string;
}

export class GitFetchError extends Error {
  override readonly name = "GitFetchError";
}

/** The environment and secrets git runs with for `src`. */
async function remoteEnv(src: GitSource, opts: GitFetchOptions): Promise<Pick<GitRunOptions, "env" | "hide" | "signal">> {
  const env: Record<string, string> = {};
  const hide: string[] = [];
  const auth = gitAuth(src.remote, src.host, opts.secrets);
  if (auth) {
    Object.assign(env, auth.env);
    hide.push(...auth.hide);
  }
  if (src.scheme === "ssh") {
    if (!opts.sshAuthSock) {
      throw new GitFetchError(`${redactCredentials(src.remote)} is an ssh remote: it needs an ssh agent (--ssh default), which this build was not given`);
    }
    toolPath("ssh"); // git runs it by name: a missing one is said here, with its package
    const knownHosts = join(opts.scratch, "known_hosts");
    env.SSH_AUTH_SOCK = opts.sshAuthSock;
    env.GIT_SSH_COMMAND = `ssh -F /dev/null -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=accept-new -o BatchMode=yes`;
  }
  return { env, hide, ...(opts.signal ? { signal: opts.signal } : {}) };
}

function snapshotKey(req: GitRequest, sha: string, ref: string): string {
  let key = sha;
  if (req.keepGitDir) key += `.git${ref ? `#${ref}` : ""}`;
  if (req.subdir) key += `:${req.subdir}`;
  if (req.submodules === false) key += "(skip-submodules)";
  if (req.mtime === "commit") key += "(mtime=commit)";
  return key;
}

/** Resolves `req` to a commit (BuildKit's CacheKey): no network for a full commit id. */
export async function resolveGit(req: GitRequest, opts: GitFetchOptions): Promise<ResolvedGit> {
  const checksum = req.checksum;
  if (checksum !== undefined && !/^[a-fA-F0-9]+$/.test(checksum)) {
    throw new GitFetchError(`invalid checksum ${checksum} for Git URL, expected hex commit hash`);
  }
  if (isCommitSha(req.ref)) {
    if (checksum !== undefined && !req.ref.startsWith(checksum)) throw new GitFetchError(`expected checksum to match ${checksum}, got ${req.ref}`);
    return { request: req, ref: req.ref, object: req.ref, commit: req.ref, key: snapshotKey(req, req.ref, req.ref) };
  }
  const run = await remoteEnv(req, opts);
  let ref = req.ref;
  if (ref === "") ref = await defaultBranch(req.remote, run);
  const out = await lsRemote(["ls-remote", "--", req.remote, ref, `${ref}^{}`], req.remote, run);
  const strip = (p: string): string => (ref.startsWith(p) ? ref.slice(p.length) : ref);
  const partialRef = `refs/${strip("refs/")}`;
  const headRef = `refs/heads/${strip("refs/heads/")}`;
  const tagRef = `refs/tags/${strip("refs/tags/")}`;
  let sha = "", headSha = "", tagSha = "", peeled = "";
  for (const line of out.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab < 0) continue;
    const [lineSha, lineRef] = [line.slice(0, tab), line.slice(tab + 1)];
    if (lineRef === headRef) headSha = lineSha;
    else if (lineRef === tagRef) tagSha = lineSha;
    else if (lineRef === `${tagRef}^{}`) peeled = lineSha;
    else if (lineRef === partialRef) sha = lineSha;
  }
  if (sha === "") sha = headSha; // as git checkout, a branch wins over a tag of the same name
  if (sha !== "") peeled = "";
  if (sha === "") sha = tagSha;
  if (sha === "") throw new GitFetchError(`repository ${redactCredentials(req.remote)} does not contain ref ${ref}`);
  if (!isCommitSha(sha)) throw new GitFetchError(`invalid commit sha ${JSON.stringify(sha)}`);
  if (checksum !== undefined && !sha.startsWith(checksum) && !peeled.startsWith(checksum)) {
    throw new GitFetchError(`expected checksum to match ${checksum}, got ${sha}${peeled ? ` or ${peeled}` : ""}`);
  }
  const commit = peeled || sha;
  // the tree of an annotated tag is its commit's; a kept .git also holds the tag, so keys differ
  return { request: req, ref, object: sha, commit, key: snapshotKey(req, req.keepGitDir ? sha : commit, ref) };
}

async function lsRemote(args: string[], remote: string, run: GitRunOptions): Promise<string> {
  try {
    return await runGit(args, run);
  } catch (e) {
    throw new GitFetchError(`failed to fetch remote ${redactCredentials(remote)}: ${(e as Error).message}`);
  }
}

async function defaultBranch(remote: string, run: GitRunOptions): Promise<string> {
  const out = await lsRemote(["ls-remote", "--symref", remote, "HEAD"], remote, run);
  const m = /refs\/heads\/(\S+)/.exec(out);
  if (!m) throw new GitFetchError(`could not find default branch for repository: ${redactCredentials(remote)}`);
  if (m[1]!.startsWith("-")) throw new GitFetchError(`invalid git ref ${JSON.stringify(m[1])}`);
  return m[1]!;
}

/** Runs a fetch; again without --depth=1 where the server cannot fetch shallow (gitutil's retry). */
async function fetch(args: string[], run: GitRunOptions): Promise<void> {
  try {
    await runGit(args, run);
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? "";
    if (args.includes("--depth=1") && (stderr.includes("--depth") || stderr.includes("shallow"))) {
      await runGit(args.filter((a) => a !== "--depth=1"), run);
      return;
    }
    throw e;
  }
}

/**
 * Fetches `r` and checks it out into `dest` (an empty directory that exists). Everything git writes
 * besides `dest` is under `opts.scratch`.
 */
export async function checkoutGit(r: ResolvedGit, dest: string, opts: GitFetchOptions): Promise<void> {
  try {
    await checkout(r, dest, opts);
  } catch (e) {
    // a git command the steps below do not word themselves: its message without the scratch's path
    if (e instanceof GitCommandError) throw new GitFetchError(e.message.split(opts.scratch).join("<checkout>").split(dest).join("<dest>"));
    throw e;
  }
}

async function checkout(r: ResolvedGit, dest: string, opts: GitFetchOptions): Promise<void> {
  const req = r.request;
  const run = await remoteEnv(req, opts);
  const bare = join(opts.scratch, "bare");
  const git = (args: string[], more: GitRunOptions = {}): Promise<string> => runGit(args, { ...run, gitDir: bare, ...more });
  const failed = (what: string) => (e: unknown): never => {
    // git names the paths it writes: the build's scratch is no business of the message
    const msg = scrub((e as Error).message, run.hide).split(opts.scratch).join("<checkout>");
    throw new GitFetchError(`failed to ${what} ${redactCredentials(req.remote)}: ${msg}`);
  };
  await mkdir(bare, { recursive: true });
  await git(["-c", "init.defaultBranch=master", "init", "--bare"]);
  await git(["remote", "add", "origin", req.remote]);

  const ref = r.ref;
  const targetRef = ref.startsWith("refs/tags/") ? ref : `tags/${ref}`;
  if (isCommitSha(ref)) {
    try {
      await git(["fetch", "--tags", "origin", ref]);
    } catch (e) {
      const stderr = (e as { stderr?: string }).stderr ?? "";
      if (!stderr.includes("not our ref") && !stderr.includes("unadvertised object")) failed("fetch remote")(e);
      await git(["fetch", "--tags", "origin"]).catch(failed("fetch remote"));
    }
    await git(["cat-file", "-e", `${ref}^{commit}`]).catch(() => {
      throw new GitFetchError(`repository ${redactCredentials(req.remote)} has no commit ${ref}`);
    });
  } else {
    await fetch(["fetch", "--depth=1", "--no-tags", "origin", "--force", "--", `${ref}:${targetRef}`], { ...run, gitDir: bare }).catch(failed("fetch remote"));
    const got = (await git(["rev-parse", ref])).trim();
    if (got !== r.object) {
      throw new GitFetchError(`${ref} of ${redactCredentials(req.remote)} moved from ${r.object} to ${got} while it was fetched: build again`);
    }
  }

  let gitDir = bare;
  let work = dest;
  const subdir = req.subdir;
  if (req.keepGitDir && subdir === "") {
    const dotGit = join(dest, ".git");
    const co = (args: string[]): Promise<string> => runGit(args, { ...run, workTree: dest, gitDir: dotGit });
    await co(["-c", "init.defaultBranch=master", "init"]);
    // file:// rather than a path: no local-clone shortcuts (hard links into the bare repository)
    await co(["remote", "add", "origin", `file://${bare}`]);
    const type = (await git(["cat-file", "-t", ref])).trim();
    let pullref = ref;
    if (type === "tag") pullref += `:${ref.startsWith("refs/tags/") ? ref : `refs/tags/${ref}`}`;
    else if (isCommitSha(ref)) {
      pullref = `refs/buildkit/${Buffer.from(crypto.getRandomValues(new Uint8Array(13))).toString("hex").slice(0, 25)}`;
      await git(["update-ref", pullref, ref]);
    } else pullref += `:${pullref}`;
    await co(["fetch", "-u", "--depth=1", "--", "origin", pullref]).catch(failed("fetch"));
    await co(["checkout", "FETCH_HEAD"]).catch(failed("checkout remote"));
    await co(["remote", "set-url", "origin", redactCredentials(req.remote)]);
    await co(["reflog", "expire", "--all", "--expire=now"]);
    await rm(join(dotGit, "FETCH_HEAD"), { force: true });
    gitDir = dotGit;
  } else {
    if (subdir !== "") {
      work = join(opts.scratch, "work");
      await mkdir(work);
    }
    await runGit(["checkout", "--no-overlay", ref, "--", "."], { ...run, workTree: work, gitDir }).catch(failed("checkout remote"));
  }
  if (req.submodules !== false) {
    await runGit(["submodule", "update", "--init", "--recursive", "--depth=1"], { ...run, workTree: work, gitDir }).catch(failed("update submodules for"));
  }
  if (subdir !== "") {
    let p = work;
    for (const part of subdir.split("/")) {
      p = join(p, part);
      const st = await lstat(p).catch(() => undefined);
      if (!st) throw new GitFetchError(`subdir ${subdir} is not in ${redactCredentials(req.remote)} at ${r.commit}`);
      if (!st.isDirectory()) throw new GitFetchError(`invalid subdir ${subdir}: git subpath ${JSON.stringify(subdir)} contains non-directory ${JSON.stringify(p.slice(work.length + 1))}`);
    }
    for (const name of await readdir(p)) await rename(join(p, name), join(dest, name));
    await rm(work, { recursive: true, force: true });
  }
  if (req.mtime === "commit") {
    const ct = Number((await runGit(["log", "-1", "--format=%ct", `${r.commit}^{commit}`], { ...run, gitDir })).trim());
    await setTimes(dest, new Date(ct * 1000));
  }
}

/** Every entry's times under `dir` (and its own) to `t`, directories after what is in them. */
async function setTimes(dir: string, t: Date): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await setTimes(p, t);
    else if (e.isSymbolicLink()) await lutimes(p, t, t);
    else await utimes(p, t, t);
  }
  await utimes(dir, t, t);
}

/**
 * A git source fetched into `dest` (an empty directory that exists), as ADD and a named build
 * context use it: parse, resolve, fetch, check out. `keepGitDir` adds to the source's own
 * `keep-git-dir`. Returns the resolution (the commit checked out and the key of the content).
 */
export async function fetchGitSource(source: string | GitRequest, dest: string, opts: GitFetchOptions & { keepGitDir?: boolean }): Promise<ResolvedGit> {
  const req: GitRequest = typeof source === "string" ? parseGitSource(source) : { ...source };
  if (opts.keepGitDir) req.keepGitDir = true;
  const r = await resolveGit(req, opts);
  await checkoutGit(r, dest, opts);
  return r;
}
