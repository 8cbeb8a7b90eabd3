/**
 * A path inside a tree that RUNs write to (a cache), handed to runc as what it is now rather than
 * as a path: its parent opened with no symlink followed anywhere on the way (SafeRoot.openExact),
 * the entry itself opened O_PATH|O_NOFOLLOW, and that descriptor bind-mounted (mount -c: mount(8)
 * resolves nothing, the kernel takes the descriptor's own entry) at a mount point in the run's
 * scratch. A RUN holding the cache at the same time cannot swap a component for a symlink and
 * make runc bind something outside the tree (runc follows the path it is given).
 */
import { execFile } from "node:child_process";
import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { mkdir, rmdir, unlink, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fdPath, SafeRoot, toolPath, type ToolName } from "@tsbuild/oci";

/** O_PATH (the same value on every Linux architecture Node runs on; Node's constants do not list it) */
const O_PATH = 0o10000000;

export class PinnedBindError extends Error {
  override readonly name = "PinnedBindError";
}

function run(cmd: ToolName, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(toolPath(cmd), args, (err, _out, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stderr: String(stderr) }));
  });
}

/**
 * Binds `rel` of `tree` (a path already resolved inside it: no symlinks expected on the way) at a
 * new mount point under `scratch`; `release()` unmounts and removes it.
 */
export async function pinnedBind(tree: string, rel: string, scratch: string): Promise<{ path: string; release(): Promise<void> }> {
  const parts = rel.split("/").filter(Boolean);
  const name = parts.pop();
  if (name === undefined) throw new PinnedBindError("nothing to pin: the tree itself");
  const root = SafeRoot.open(tree);
  let fd: number | undefined;
  try {
    const parent = root.openExact(parts.join("/"));
    if (parent === undefined) throw new PinnedBindError(`/${rel} is no longer there (a directory on the way became something else)`);
    try {
      fd = openSync(fdPath(parent, name), O_PATH | constants.O_NOFOLLOW);
    } catch {
      throw new PinnedBindError(`/${rel} is no longer there`);
    } finally {
      closeSync(parent);
    }
    const st = fstatSync(fd);
    if (!st.isDirectory() && !st.isFile()) throw new PinnedBindError(`/${rel} is neither a directory nor a file`);
    await mkdir(scratch, { recursive: true });
    const point = join(scratch, `pinned-${randomBytes(6).toString("hex")}`);
    if (st.isDirectory()) await mkdir(point);
    else await writeFile(point, "", { flag: "wx" });
    const m = await run("mount", ["-c", "--bind", `/proc/${process.pid}/fd/${fd}`, point]);
    // never a recursive removal: if an unmount failed, it would reach into the cache
    const removePoint = () => (st.isDirectory() ? rmdir(point) : unlink(point)).catch(() => undefined);
    if (m.code !== 0) {
      await removePoint();
      throw new PinnedBindError(`could not bind /${rel}: ${m.stderr.trim() || `mount exited ${m.code}`}`);
    }
    return {
      path: point,
      release: async () => {
        // lazily when busy: detached at once, so removing the scratch never reaches into the cache
        if ((await run("umount", [point])).code !== 0) await run("umount", ["-l", point]);
        await removePoint();
      },
    };
  } finally {
    if (fd !== undefined) closeSync(fd);
    root.close();
  }
}
