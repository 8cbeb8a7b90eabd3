import { posix } from "node:path";
import { chown, lstat, mkdir } from "node:fs/promises";
import { resolveInRoot } from "@tsbuild/oci";
import { resolveUser } from "@tsbuild/runtime";
import type { WorkdirInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { fsStep } from "../fs-step.js";

/** WORKDIR: sets the working directory and creates every missing component, owned by USER (mode 0755). */
export const workdir: InstructionHandler<WorkdirInstruction> = async (env, st, i) => {
  const dir = posix.resolve(st.image.config.WorkingDir || "/", i.path);
  // BuildKit keeps a trailing separator as written
  st.image.config.WorkingDir = i.path.endsWith("/") && dir !== "/" ? `${dir}/` : dir;
  return fsStep(env, st, `WORKDIR ${dir}`, async (root) => {
    const parts = dir.split("/").filter(Boolean);
    let owner: { uid: number; gid: number } | null = null;
    let cur = "";
    for (const p of parts) {
      const resolved = await resolveInRoot(root, cur ? `${cur}/${p}` : p);
      const abs = posix.join(root, resolved);
      if (!(await lstat(abs).catch(() => undefined))) {
        if (owner === null) {
          const u = await resolveUser(root, st.image.config.User);
          owner = { uid: u.uid, gid: u.gid };
        }
        await mkdir(abs, { mode: 0o755 });
        await chown(abs, owner.uid, owner.gid);
      }
      cur = resolved;
    }
  }, { user: st.image.config.User ?? "" });
};
