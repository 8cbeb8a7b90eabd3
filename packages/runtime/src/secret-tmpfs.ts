/**
 * The secrets of one RUN live on a tmpfs of their own (as BuildKit keeps them): mounted mode 0700,
 * nosuid,nodev,noexec, just big enough for them, and unmounted when the run ends (success, failure,
 * abort, SIGINT/SIGTERM through the run's cleanup, and at process exit as a last resort). Their
 * bytes are never written to the store's disk: a kill -9 can leave the tmpfs mounted (memory only),
 * and the next build's sweep of dead builds unmounts it (engine dead-builds.ts).
 */
import { execFile, spawnSync } from "node:child_process";
import { chmod, chown, mkdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { findTool, toolPath, type ToolName } from "@tsbuild/oci";

export interface SecretFile {
  data: Buffer;
  mode: number;
  uid: number;
  gid: number;
}

export interface SecretTmpfs {
  /** the tmpfs's mount point */
  dir: string;
  /** the path of each secret file, in the order given */
  files: string[];
  /**
   * Writes one more file (mode 0600, root) onto the tmpfs, grown to hold it: the run's container
   * config, when secrets are in its process environment. Returns its path.
   */
  addFile(name: string, data: string | Buffer): Promise<string>;
  /** unmounts the tmpfs and removes its mount point */
  release(): Promise<void>;
}

export class SecretMountError extends Error {
  override readonly name = "SecretMountError";
}

const PAGE = 4096;
const mounted = new Set<string>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once("exit", () => {
    for (const dir of mounted) spawnSync(findTool("umount") ?? "umount", ["-l", dir], { stdio: "ignore" });
    mounted.clear();
  });
}

function run(cmd: ToolName, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(toolPath(cmd), args, (err, _out, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stderr: String(stderr) }));
  });
}

/** The tmpfs size for these files: each rounded up to whole pages, plus one page of slack. */
export function secretTmpfsSize(sizes: number[]): number {
  return sizes.reduce((a, n) => a + Math.ceil(n / PAGE) * PAGE, 0) + PAGE;
}

/** Mounts a tmpfs at `dir` (created, must not exist) and writes each secret into it as `0`, `1`, …. */
export async function mountSecretTmpfs(dir: string, secrets: SecretFile[]): Promise<SecretTmpfs> {
  hookExit();
  await mkdir(dir, { mode: 0o700 });
  const sizes = secrets.map((s) => s.data.length);
  const opts = ["mode=0700", "nosuid", "nodev", "noexec", `size=${secretTmpfsSize(sizes)}`, `nr_inodes=${secrets.length + 8}`];
  const r = await run("mount", ["-t", "tmpfs", "-o", opts.join(","), "tsbuild-secrets", dir]);
  if (r.code !== 0) {
    await rmdir(dir).catch(() => undefined);
    throw new SecretMountError(`could not mount a tmpfs for the RUN's secrets: ${r.stderr.trim() || `mount exited ${r.code}`} (tsbuild must run as root with tmpfs available)`);
  }
  mounted.add(dir);
  const release = async () => {
    if (!mounted.has(dir)) return;
    let u = await run("umount", [dir]);
    if (u.code !== 0) u = await run("umount", ["-l", dir]); // still busy: detached now, gone with its last user
    mounted.delete(dir);
    await rmdir(dir).catch(() => undefined);
  };
  try {
    const files: string[] = [];
    for (const [i, s] of secrets.entries()) {
      const file = join(dir, String(i));
      await writeFile(file, s.data, { mode: s.mode, flag: "wx" });
      await chmod(file, s.mode); // exactly as asked, whatever the umask
      await chown(file, s.uid, s.gid);
      files.push(file);
    }
    const addFile = async (name: string, data: string | Buffer): Promise<string> => {
      const bytes = typeof data === "string" ? Buffer.from(data) : data;
      sizes.push(bytes.length);
      const grow = await run("mount", ["-o", `remount,size=${secretTmpfsSize(sizes)}`, dir]);
      if (grow.code !== 0) throw new SecretMountError(`could not grow the RUN's secrets tmpfs: ${grow.stderr.trim() || `mount exited ${grow.code}`}`);
      const file = join(dir, name);
      await writeFile(file, bytes, { mode: 0o600, flag: "wx" });
      return file;
    };
    return { dir, files, addFile, release };
  } catch (e) {
    await release();
    throw e;
  }
}
