/**
 * A git source as BuildKit reads it (gitutil.ParseURL and the Dockerfile frontend's dfgitutil
 * ParseGitRef, BuildKit HEAD; `isGitSource` in copy/git-source.ts decides *whether* a source is one):
 * - `SCHEME://…` for http, https, ssh and git; `user@host:path` (scp-like, read as ssh); anything
 *   else as `https://` + the source (Dockerfile 1.7);
 * - the fragment `#REF:SUBDIR` (both optional; the subdir cleaned, made relative);
 * - the query (Dockerfile 1.18): `ref`, `tag` (→ refs/tags/…), `branch` (→ refs/heads/…), `subdir`,
 *   `checksum`/`commit`, `keep-git-dir`, `submodules` (valueless = true), `mtime=checkout|commit`
 *   (1.23); a key twice, an empty value or an unknown key is an error, as are a fragment and a query
 *   that disagree.
 * `remote` is the URL git is given: the source without its query and fragment.
 */
import { posix } from "node:path";

export interface GitSource {
  /** what git fetches from: the URL without query and fragment */
  remote: string;
  scheme: "http" | "https" | "ssh" | "git";
  /** host (with port) of the remote: the per-host secret ids are named by it */
  host: string;
  /** branch, tag or commit id ("": the remote's default branch) */
  ref: string;
  /** a directory of the repository to take instead of its root ("": the root) */
  subdir: string;
  /** the commit id (or a prefix of it) the ref must resolve to */
  checksum?: string;
  /** from the query; undefined when not given */
  keepGitDir?: boolean;
  /** from the query; undefined when not given (submodules are checked out) */
  submodules?: boolean;
  /** from the query: file times as checked out (BuildKit's default) or the commit's time */
  mtime?: "checkout" | "commit";
}

export class GitUrlError extends Error {
  override readonly name = "GitUrlError";
}

const PROTO = /^([a-zA-Z0-9]+):\/\//;
const SCP = /^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*?)(?:\?(.*?))?(?:#(.*))?$/;

/** Go's url.QueryUnescape / PathUnescape, enough for refs and paths: an invalid escape is an error. */
function unescape(s: string, plusIsSpace: boolean): string {
  try {
    return decodeURIComponent(plusIsSpace ? s.replace(/\+/g, " ") : s);
  } catch {
    throw new GitUrlError(`invalid URL escape in ${JSON.stringify(s)}`);
  }
}

function parseQuery(raw: string): Map<string, string[]> {
  const q = new Map<string, string[]>();
  for (const part of raw.split("&")) {
    if (part === "") continue;
    if (part.includes(";")) throw new GitUrlError(`invalid semicolon separator in query`);
    const eq = part.indexOf("=");
    const k = unescape(eq < 0 ? part : part.slice(0, eq), true);
    const v = unescape(eq < 0 ? "" : part.slice(eq + 1), true);
    q.set(k, [...(q.get(k) ?? []), v]);
  }
  return q;
}

function cleanSubdir(s: string): string {
  // Go's path.Join("/", s): cleaned, no trailing slash; then relative
  return posix.normalize(`/${s}`).replace(/^\/+/, "").replace(/\/+$/, "");
}

function parseBool(k: string, v: string | undefined): boolean {
  if (v === undefined) return true;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  throw new GitUrlError(`invalid ${k} value: ${JSON.stringify(v)}`);
}

/** Parses a source `isGitSource` accepted; throws GitUrlError for a query BuildKit refuses. */
export function parseGitSource(src: string): GitSource {
  let scheme: GitSource["scheme"];
  let remote: string;
  let host: string;
  let rawQuery = "";
  let fragment = "";
  let path: string;
  const scp = PROTO.test(src) ? null : SCP.exec(src);
  if (scp) {
    scheme = "ssh";
    remote = `${scp[1]}@${scp[2]}:${scp[3]}`;
    host = scp[2]!;
    path = scp[3]!;
    rawQuery = scp[4] ?? "";
    fragment = scp[5] ?? "";
  } else {
    const url = PROTO.test(src) ? src : `https://${src}`;
    const proto = PROTO.exec(url)![1]!.toLowerCase();
    if (proto !== "http" && proto !== "https" && proto !== "ssh" && proto !== "git") throw new GitUrlError(`invalid protocol: ${proto}`);
    scheme = proto;
    let rest = url.slice(url.indexOf("://") + 3);
    const hash = rest.indexOf("#");
    if (hash >= 0) {
      fragment = unescape(rest.slice(hash + 1), false);
      rest = rest.slice(0, hash);
    }
    const qm = rest.indexOf("?");
    if (qm >= 0) {
      rawQuery = rest.slice(qm + 1);
      rest = rest.slice(0, qm);
    }
    remote = `${scheme}://${rest}`;
    const slash = rest.indexOf("/");
    const authority = slash < 0 ? rest : rest.slice(0, slash);
    path = slash < 0 ? "" : rest.slice(slash);
    host = authority.slice(authority.lastIndexOf("@") + 1);
  }
  if ((scheme === "http" || scheme === "https") && !unescape(path, false).endsWith(".git")) {
    throw new GitUrlError(`${src} is not a git URL: an http(s) git URL's path ends in .git`);
  }
  const out: GitSource = { remote, scheme, host, ref: "", subdir: "" };
  if (fragment !== "") {
    const colon = fragment.indexOf(":");
    out.ref = colon < 0 ? fragment : fragment.slice(0, colon);
    out.subdir = cleanSubdir(colon < 0 ? "" : fragment.slice(colon + 1));
  }
  if (rawQuery !== "") loadQuery(out, parseQuery(rawQuery));
  if (out.ref.startsWith("-")) throw new GitUrlError(`invalid git ref ${JSON.stringify(out.ref)}`);
  return out;
}

/** BuildKit's GitRef.loadQuery. */
function loadQuery(gf: GitSource, query: Map<string, string[]>): void {
  let tag = "";
  let branch = "";
  for (const [k, vs] of query) {
    if (vs.length > 1) throw new GitUrlError(`query ${JSON.stringify(k)} has multiple values`);
    let v: string | undefined = vs[0];
    if (v === undefined || v === "") {
      if (k === "submodules" || k === "keep-git-dir" || k === "fetch-by-commit") v = undefined;
      else throw new GitUrlError(`query ${JSON.stringify(k)} has no value`);
    }
    switch (k) {
      case "ref":
        if (gf.ref !== "" && gf.ref !== v) throw new GitUrlError(`ref conflicts: ${JSON.stringify(gf.ref)} vs ${JSON.stringify(v)}`);
        gf.ref = v!;
        break;
      case "tag": tag = v!; break;
      case "branch": branch = v!; break;
      case "subdir": {
        const s = cleanSubdir(v!);
        if (gf.subdir !== "" && gf.subdir !== s) throw new GitUrlError(`subdir conflicts: ${JSON.stringify(gf.subdir)} vs ${JSON.stringify(v)}`);
        gf.subdir = s;
        break;
      }
      case "checksum": case "commit": gf.checksum = v!; break;
      case "keep-git-dir": gf.keepGitDir = parseBool(k, v); break;
      case "submodules": gf.submodules = parseBool(k, v); break;
      case "mtime":
        if (v !== "checkout" && v !== "commit") throw new GitUrlError(`invalid mtime value: ${JSON.stringify(v)} (must be "checkout" or "commit")`);
        gf.mtime = v;
        break;
      case "fetch-by-commit":
        // BuildKit 0.29: trusts the checksum as the commit and fetches it alone; not done here
        throw new GitUrlError(`query "fetch-by-commit" is not supported by tsbuild: pin the commit with #COMMIT or ?checksum= instead`);
      default:
        throw new GitUrlError(`unexpected query ${JSON.stringify(k)}`);
    }
  }
  if (tag !== "") {
    if (!tag.startsWith("refs/tags/")) tag = `refs/tags/${tag}`;
    if (gf.ref !== "" && gf.ref !== tag) throw new GitUrlError(`ref conflicts: ${JSON.stringify(gf.ref)} vs ${JSON.stringify(tag)}`);
    gf.ref = tag;
  }
  if (branch !== "") {
    if (tag !== "") throw new GitUrlError("branch conflicts with tag");
    if (!branch.startsWith("refs/heads/")) branch = `refs/heads/${branch}`;
    if (gf.ref !== "" && gf.ref !== branch) throw new GitUrlError(`ref conflicts: ${JSON.stringify(gf.ref)} vs ${JSON.stringify(branch)}`);
    gf.ref = branch;
  }
}

/** A full commit id: 40 (sha1) or 64 (sha256) lower-case hex digits (gitutil.IsCommitSHA). */
export function isCommitSha(s: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(s);
}

/** A URL with its user and password masked (BuildKit's urlutil.RedactCredentials): `https://xxxxx:xxxxx@host/…`. */
export function redactCredentials(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^/?#@]*)@/, (_m, scheme: string, user: string) => {
    const colon = user.indexOf(":");
    if (colon < 0) return user ? `${scheme}xxxxx@` : `${scheme}@`;
    const name = user.slice(0, colon);
    return name ? `${scheme}xxxxx:xxxxx@` : `${scheme}:xxxxx@`;
  });
}
