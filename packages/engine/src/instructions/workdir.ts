import { posix } from "node:path";
import { SafeRoot, UnsafePathError } from "@tsbuild/oci";
import { resolveUser } from "@tsbuild/runtime";
import type { WorkdirInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";

/**
 * WORKDIR: sets the working directory and creates every missing component, owned by USER (mode
 * 0755), symlinks on the way followed inside the root (SafeRoot).
 */
export const workdir: InstructionHandler<WorkdirInstruction, "steps"> = async ({ steps }, st, i) => {
  const dir = posix.resolve(st.image.config.WorkingDir || "/", i.path);
  // BuildKit keeps a trailing separator as written
  st.image.config.WorkingDir = i.path.endsWith("/") && dir !== "/" ? `${dir}/` : dir;
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
  }, { user: st.image.config.User ?? "" });
};
