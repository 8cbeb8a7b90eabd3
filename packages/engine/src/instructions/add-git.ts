/**
 * ADD of git repositories (the sources copy/git-source.ts reads as git refs), as BuildKit's
 * dockerfile frontend makes them: each source is BuildKit's `llb.Git` state copied from `/` into
 * the destination (`--chown`, `--chmod`, `--exclude` apply as to any copy; owners are the checkout's,
 * 0:0). The flags join the URL's own options (dockerfile HEAD): `--keep-git-dir` and
 * `?keep-git-dir=` must agree, as must `--checksum` and `?checksum=` (git checksums are commit id
 * prefixes; dockerfile 1.7 refused --checksum for git). The step's key is the sources' snapshot keys
 * (remote/git-fetch.ts: the resolved commit and what shapes the tree), so the remote is asked
 * (`ls-remote`) before the lookup and fetched only on a miss; a pinned commit asks nothing.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { AddInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { copyFiles, CopyError } from "../copy/copier.js";
import { BuildError } from "../errors.js";
import { copyFlags } from "../copy/copy-flags.js";
import { isGitSource } from "../copy/git-source.js";
import { resolveChown } from "../copy/chown.js";
import { copyCreatedBy } from "../step/history.js";
import { copyStep } from "../copy/link-copy.js";
import { GitUrlError, parseGitSource } from "../remote/git-url.js";
import { checkoutGit, GitFetchError, resolveGit, type GitRequest, type ResolvedGit } from "../remote/git-fetch.js";
import { GitCommandError } from "../remote/git-cli.js";

export const addGit: InstructionHandler<AddInstruction, "graph" | "steps" | "sources" | "containers"> = async (roles, st, i) => {
  const fail = (message: string): never => {
    throw new BuildError(message, roles.graph.file, i.position, i.original);
  };
  const others = i.sources.filter((s) => !isGitSource(s));
  if (others.length || i.contents.length) {
    fail(`ADD of a git repository with other sources (${others[0] ?? "a heredoc"}) is not supported by tsbuild: give the repository an ADD of its own`);
  }
  const flags = copyFlags(i, { file: roles.graph.file, position: i.position }); // --chmod, --exclude
  const secrets = roles.containers.secrets;
  const requests: GitRequest[] = i.sources.map((s) => {
    let req: GitRequest;
    try {
      req = parseGitSource(s);
    } catch (e) {
      if (e instanceof GitUrlError) fail(`ADD ${s}: ${e.message}`);
      throw e;
    }
    if (i.keepGitDir && req.keepGitDir === false) fail(`ADD ${s}: inconsistent keep-git-dir configuration (--keep-git-dir and ?keep-git-dir=false)`);
    if (i.keepGitDir) req.keepGitDir = true;
    if (i.checksum !== undefined && i.checksum !== "") {
      if (req.checksum !== undefined && req.checksum !== i.checksum) fail(`ADD ${s}: checksum mismatch ${JSON.stringify(i.checksum)} != ${JSON.stringify(req.checksum)}`);
      req.checksum = i.checksum;
    }
    return req;
  });
  // git over ssh uses the `--ssh default` agent, as BuildKit's git source mounts the default ssh socket
  const sshAuthSock = await roles.containers.ssh.socket("default");
  const fetchOpts = (scratch: string) => ({ secrets, scratch, signal: roles.containers.signal, ...(sshAuthSock ? { sshAuthSock } : {}) });
  const gitError = (src: string, e: unknown): never => {
    if (e instanceof GitFetchError || e instanceof GitCommandError) fail(`ADD ${src}: ${e.message}`);
    throw e;
  };
  const resolved: ResolvedGit[] = [];
  const scratchAll = await roles.sources.scratchDir("git");
  try {
    for (const [n, req] of requests.entries()) {
      const scratch = join(scratchAll, `resolve-${n}`);
      await mkdir(scratch);
      resolved.push(await resolveGit(req, fetchOpts(scratch)).catch((e: unknown) => gitError(i.sources[n]!, e)));
    }
  } finally {
    await rm(scratchAll, { recursive: true, force: true });
  }
  const workdir = st.image.config.WorkingDir || "/";
  const inputs = {
    source: `git:${resolved.map((r) => r.key).join(" ")}`, chown: i.chown ?? "", chmod: i.chmod ?? "", workdir, ...flags.inputs,
  };
  return copyStep(roles, i)(st, copyCreatedBy("ADD", i), async (root) => {
    const chown = await resolveChown(root, i.chown).catch((e: Error) => fail(e.message));
    for (const [n, r] of resolved.entries()) {
      const scratch = await roles.sources.scratchDir("git");
      try {
        const tree = join(scratch, "tree");
        await mkdir(tree, { mode: 0o755 });
        await checkoutGit(r, tree, fetchOpts(scratch)).catch((e: unknown) => gitError(i.sources[n]!, e));
        await copyFiles({
          source: { root: tree, isContext: false }, sources: ["/"], dest: i.dest, workdir, targetRoot: root,
          ...(chown ? { chown } : {}), ...(flags.chmod ? { chmod: flags.chmod } : {}), selection: flags.selection, instruction: "ADD",
        }).catch((e: unknown) => {
          if (e instanceof CopyError) fail(e.message);
          throw e;
        });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    }
  }, inputs);
};
