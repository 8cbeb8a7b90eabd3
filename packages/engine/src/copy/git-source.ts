/**
 * Which COPY/ADD sources BuildKit reads as a git repository: its gitutil.ParseGitRef (Dockerfile
 * 1.7, as dispatchCopy uses it). ADD clones such a source; COPY refuses it ("source can't be a git
 * ref for COPY"). The rules, in order:
 * - `./…` and `../…` are context paths; `github.com/…` is a git ref "indistinguishable from local",
 *   which dispatchCopy treats as a context path;
 * - `SCHEME://…`: a git ref for `ssh` and `git`, and for `http`/`https` when the URL's path (before
 *   `?` and `#`) ends in `.git`; any other scheme is not;
 * - `user@host:path[#ref]` (scp-like, user and host of `[A-Za-z0-9-_]` and `[A-Za-z0-9-.]`);
 * - anything else is read as `https://` + the source: `dir/repo.git` (host `dir`, path `/repo.git`)
 *   is a git ref, `repo.git` (all host, no path) is not.
 */
import { urlPath } from "./url-path.js";

const PROTO = /^[a-zA-Z0-9]+:\/\//;
const SCP = /^[a-zA-Z0-9_-]+@[a-zA-Z0-9.-]+:/;

export function isGitSource(src: string): boolean {
  if (src.startsWith("./") || src.startsWith("../") || src.startsWith("github.com/")) return false;
  const proto = PROTO.exec(src)?.[0];
  if (proto !== undefined) {
    const scheme = proto.slice(0, -3).toLowerCase();
    if (scheme === "ssh" || scheme === "git") return true;
    return (scheme === "http" || scheme === "https") && (urlPath(src) ?? "").endsWith(".git");
  }
  if (SCP.test(src)) return true;
  return (urlPath(`https://${src}`) ?? "").endsWith(".git");
}
