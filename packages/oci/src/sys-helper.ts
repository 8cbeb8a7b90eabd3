/**
 * tsbuild-sys (native/sys-helper.c): one kept process per tsbuild process that makes the system
 * calls Node has no API for — mount(2), umount2(2), syncfs(2), and an lgetxattr walk of a tree —
 * on request over a pipe. Each spawn of mount/umount/getfattr/sync costs ~8 ms of the main thread
 * in a large Node process; a request costs a pipe round trip. Started at its first use; it dies
 * with its stdin (this process's exit) and with its parent.
 *
 * `sysHelper()` is undefined when the binary was not built (no C compiler), is switched off
 * (TSBUILD_SYS_HELPER=off), or could not be started: callers then spawn the tools, with the same
 * result. A request to a helper that died fails with `SysHelperGone`, which callers treat alike.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A system call the helper made failed: `code` is its errno name (EBUSY, EINVAL…). */
export class SysCallError extends Error {
  override readonly name = "SysCallError";
  constructor(readonly call: string, readonly errno: number, readonly code: string, what: string) {
    super(`${call} ${what}: ${code}`);
  }
}

/** The helper is not there (any more): do it the other way. */
export class SysHelperGone extends Error {
  override readonly name = "SysHelperGone";
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([k, v]) => [v, k]));

export const MS_RDONLY = 1;
export const MS_REMOUNT = 32;
export const MS_BIND = 4096;
export const MNT_DETACH = 2;

interface Pending {
  resolve: (payload: Buffer) => void;
  reject: (e: Error) => void;
  call: string;
  what: string;
}

export class SysHelper {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private next = 1;
  private buffered: Buffer = Buffer.alloc(0);
  private gone: Error | undefined;

  constructor(binary: string) {
    this.child = spawn(binary, [], { stdio: ["pipe", "pipe", "inherit"] });
    this.child.on("error", (e) => this.fail(new SysHelperGone(`tsbuild-sys could not run: ${e.message}`)));
    this.child.on("exit", (code, sig) => this.fail(new SysHelperGone(`tsbuild-sys ended (${sig ?? code})`)));
    this.child.stdin?.on("error", () => undefined); // a dead helper's pipe: reported by "exit"
    this.child.stdout?.on("data", (d: Buffer) => this.read(d));
    this.idle();
  }

  /** Not keeping this process alive while nothing is asked. */
  private idle(): void {
    this.child.unref();
    (this.child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    (this.child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  private busy(): void {
    this.child.ref();
    (this.child.stdout as unknown as { ref?: () => void } | null)?.ref?.();
    (this.child.stdin as unknown as { ref?: () => void } | null)?.ref?.();
  }

  private fail(e: Error): void {
    this.gone ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    if (helper !== this) return;
    // a helper that could not start or died: the tools from now on
    helper = undefined;
    unavailable = true;
  }

  private read(d: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, d]) : d;
    for (;;) {
      const nl = this.buffered.indexOf(10);
      if (nl === -1) return;
      const [id, rc, errno, len] = this.buffered.subarray(0, nl).toString("latin1").split(" ").map(Number) as [number, number, number, number];
      if (this.buffered.length < nl + 1 + len) return;
      const payload = this.buffered.subarray(nl + 1, nl + 1 + len);
      this.buffered = this.buffered.subarray(nl + 1 + len);
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      if (this.pending.size === 0) this.idle();
      if (rc === 0) p.resolve(Buffer.from(payload));
      else p.reject(new SysCallError(p.call, errno, ERRNO_NAMES.get(errno) ?? `errno ${errno}`, p.what));
    }
  }

  private ask(call: string, what: string, op: string, args: string[]): Promise<Buffer> {
    if (this.gone) return Promise.reject(this.gone);
    if (args.some((a) => a.includes("\n") || a.includes("\0"))) return Promise.reject(new SysHelperGone("an argument holds a newline or NUL"));
    const id = this.next++;
    return new Promise<Buffer>((resolve, reject) => {
      if (this.pending.size === 0) this.busy();
      this.pending.set(id, { resolve, reject, call, what });
      this.child.stdin?.write(`${[String(id), op, ...args].join("\0")}\n`);
    });
  }

  /** mount(2); `cwd` is where relative paths in `source` and `data` (overlay's lowerdir…) are resolved. */
  async mount(m: { target: string; source?: string; fstype?: string; flags?: number; data?: string; cwd?: string }): Promise<void> {
    await this.ask("mount", m.target, "M", [m.cwd ?? "", m.source ?? "", m.target, m.fstype ?? "", String(m.flags ?? 0), m.data ?? ""]);
  }

  /** umount2(2) */
  async umount(target: string, flags = 0): Promise<void> {
    await this.ask("umount", target, "U", [target, String(flags)]);
  }

  /** syncfs(2) of the file system `path` is on */
  async syncfs(path: string): Promise<void> {
    await this.ask("syncfs", path, "S", [path]);
  }

  /** The value of xattr `name` of `path` (no symlink followed); undefined when it has none. */
  async getXattr(path: string, name: string): Promise<Buffer | undefined> {
    try {
      return await this.ask("lgetxattr", path, "G", [path, name]);
    } catch (e) {
      if (e instanceof SysCallError && (e.errno === constants.errno.ENODATA || e.errno === constants.errno.ENOTSUP)) return undefined;
      throw e;
    }
  }

  /** The directories under `dir` (no symlink followed) whose xattr `name` is "y", relative to `dir` ("" is `dir`). */
  async dirsWithXattrY(dir: string, name: string): Promise<string[]> {
    const out = await this.ask("xattr walk", dir, "O", [dir, name]);
    const s = out.toString("utf8");
    return s.length ? s.slice(0, -1).split("\0") : [];
  }

  /** Ends the helper (it also ends with this process). */
  close(): void {
    if (helper === this) helper = undefined;
    this.fail(new SysHelperGone("tsbuild-sys closed"));
    this.child.stdin?.end();
  }
}

let helper: SysHelper | undefined;
let unavailable = false;

function moduleDir(): string | undefined {
  try {
    const url = import.meta.url as string | undefined; // undefined in the CLI bundle (CommonJS)
    return url ? fileURLToPath(new URL(".", url)) : undefined;
  } catch {
    return undefined;
  }
}

/** Where the binary is: TSBUILD_SYS_HELPER, beside the CLI bundle, or packages/oci/native. */
function binaryPath(): string | undefined {
  const env = process.env.TSBUILD_SYS_HELPER;
  if (env === "off" || env === "0") return undefined;
  if (env) return env;
  const candidates: string[] = [];
  if (typeof __dirname === "string") candidates.push(join(__dirname, "tsbuild-sys"));
  const mod = moduleDir();
  if (mod) candidates.push(join(mod, "../native/tsbuild-sys"));
  return candidates.find((c) => existsSync(c));
}

/** The process's helper, started on first use; undefined when there is none (spawn the tools instead). */
export function sysHelper(): SysHelper | undefined {
  if (helper || unavailable) return helper;
  const bin = binaryPath();
  if (!bin) {
    unavailable = true;
    return undefined;
  }
  helper = new SysHelper(bin);
  return helper;
}

/** Ends the helper and forgets what was found, so the next sysHelper() looks again (tests switch it off and on). */
export function resetSysHelper(): void {
  helper?.close();
  helper = undefined;
  unavailable = false;
}
