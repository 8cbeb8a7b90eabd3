/**
 * The system tools tsbuild runs, in one place: each is looked up once in the search path, at its
 * first use (or up front, `requireTools`, before a build starts anything that would need it), and a
 * missing one fails with a message that names the tool, what needs it and the Debian package that
 * has it. `tsbuild info` lists them all (`systemTools`).
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface ToolFacts {
  /** the Debian package that installs it */
  pkg: string;
  /** what tsbuild needs it for, as a user reads it ("RUN steps") */
  needs: string;
  /** needed by every build on this host (else only by the feature `needs` names) */
  core?: boolean;
}

const TOOLS = {
  runc: { pkg: "runc", needs: "RUN steps", core: true },
  getfattr: { pkg: "attr", needs: "overlay snapshots (whiteouts, opaque directories, xattrs in layers)", core: true },
  setfattr: { pkg: "attr", needs: "xattrs written into a root (layers and copies that carry them)" },
  mount: { pkg: "mount", needs: "overlay snapshots and RUN mounts", core: true },
  umount: { pkg: "mount", needs: "overlay snapshots and RUN mounts", core: true },
  cp: { pkg: "coreutils", needs: "copy snapshots and local outputs", core: true },
  find: { pkg: "findutils", needs: "COPY --link layers" },
  sync: { pkg: "coreutils", needs: "flushing large layers early" },
  mknod: { pkg: "coreutils", needs: "device nodes in layers and contexts" },
  mkfifo: { pkg: "coreutils", needs: "fifos in layers and contexts" },
  chattr: { pkg: "e2fsprogs", needs: "spreading snapshot directories (optional)" },
  zstd: { pkg: "zstd", needs: "zstd layers (--compression zstd, pulled zstd images)" },
  bzip2: { pkg: "bzip2", needs: "ADD of .tar.bz2 archives" },
  xz: { pkg: "xz-utils", needs: "ADD of .tar.xz archives" },
  git: { pkg: "git", needs: "ADD of a git repository and git build contexts" },
  ssh: { pkg: "openssh-client", needs: "git over ssh" },
  "ssh-agent": { pkg: "openssh-client", needs: "--ssh with key files" },
  "ssh-add": { pkg: "openssh-client", needs: "--ssh with key files" },
  unshare: { pkg: "util-linux", needs: "rootless builds (the user namespace)" },
  newuidmap: { pkg: "uidmap", needs: "rootless builds (the user's subordinate uids)" },
  newgidmap: { pkg: "uidmap", needs: "rootless builds (the user's subordinate gids)" },
  chroot: { pkg: "coreutils", needs: "RUN with --isolation=chroot" },
} as const satisfies Record<string, ToolFacts>;

export type ToolName = keyof typeof TOOLS;

/** A system tool tsbuild needs is not installed. */
export class MissingToolError extends Error {
  override readonly name = "MissingToolError";
  constructor(readonly tool: string, readonly facts: ToolFacts) {
    super(`${tool} is not installed: tsbuild needs it for ${facts.needs}; install it with \`apt-get install ${facts.pkg}\` (Debian's ${facts.pkg} package), or run \`npm run setup\` in tsbuild's checkout`);
  }
}

/** Where processes look (PATH), then the sbin directories a user's PATH often lacks. */
function searchPath(): string[] {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  for (const d of ["/usr/local/sbin", "/usr/sbin", "/sbin"]) if (!dirs.includes(d)) dirs.push(d);
  return dirs;
}

const found = new Map<string, string | undefined>();

/** The executable `name` in the search path (looked up once per process), or undefined. */
export function findTool(name: string): string | undefined {
  if (found.has(name)) return found.get(name);
  let path: string | undefined;
  for (const dir of searchPath()) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) {
        path = candidate;
        break;
      }
    } catch {
      // not here
    }
  }
  found.set(name, path);
  return path;
}

/** The path of a tool tsbuild runs; MissingToolError when it is not installed. */
export function toolPath(name: ToolName): string {
  const path = findTool(name);
  if (path === undefined) throw new MissingToolError(name, TOOLS[name]);
  return path;
}

/** Fails, naming the first missing one, unless every tool is installed: called before work that needs them starts. */
export function requireTools(names: readonly ToolName[]): void {
  for (const n of names) toolPath(n);
}

export interface ToolStatus extends ToolFacts {
  name: ToolName;
  /** where it was found; undefined when missing */
  path: string | undefined;
}

/** Every tool tsbuild may run, found or not (for `tsbuild info`). */
export function systemTools(): ToolStatus[] {
  return (Object.keys(TOOLS) as ToolName[]).map((name) => ({ name, ...TOOLS[name], path: findTool(name) }));
}

/** Forgets what was found (tests that change PATH). */
export function forgetTools(): void {
  found.clear();
}
