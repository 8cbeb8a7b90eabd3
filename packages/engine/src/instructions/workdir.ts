import { posix } from "node:path";
import { SafeRoot, UnsafePathError } from "@tsbuild/oci";
import { resolveUser } from "@tsbuild/runtime";
import type { WorkdirInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import type { RuntimeConfig } from "../image/image-state.js";

/**
 * WORKDIR's config change: the path resolved against the current working directory ("/" when
 * none), a trailing separator kept as written (as BuildKit keeps it). Returns the directory
 * without that separator (the one to create).
 */
export function setWorkdir(config: RuntimeConfig, path: string): string {
  const dir = posix.resolve(config.WorkingDir || "/", path);
  config.WorkingDir = path.endsWith("/") && dir !== "/" ? `${dir}/` : dir;
  return dir;
}

/**
 * WORKDIR: sets the working directory and creates every missing component, owned by USER (mode
 * 0755), symlinks on the way followed inside the root (SafeRoot). A directory the root certainly
 * has (found through real directories without mounting a snapshot) changes nothing: the step is
 * then the empty-layer step it would be after a snapshot (BuildKit's mkdir -p on it writes no file).
 */
export const workdir: InstructionHandler<WorkdirInstruction, "steps"> = async ({ steps }, st, i) => {
  const dir = setWorkdir(st.image.config, i.path);
  return steps.change(st, `WORKDIR ${dir}`, async (rootPath) => {
    const root = SafeRoot.open(rootPath);
    try {
      try {
        root.dir(dir);
        return; // there already
      } catch (e) {
        if (!(e instanceof UnsafePathError) || e.code !== "ENOENT") throw e;
      }
      // the USER is looked up only when something is to be made (an unknown one is no error otherwise)
      const u = await resolveUser(rootPath, st.image.config.User);
      root.dir(dir, { mode: 0o755, uid: u.uid, gid: u.gid });
    } finally {
      root.close();
    }
  }, { user: st.image.config.User ?? "" }, undefined, "files", () => steps.hasDirectory(st, dir));
};
