/**
 * What a RUN's typed mounts (packages/dockerfile/src/mount-spec.ts, checked there) become for the
 * executor: caches, tmpfs and secrets as the runtime's mounts, binds for run-bind.ts to put in place.
 * Targets are resolved against the working directory, as BuildKit does (not a secret's). What the
 * engine does not build yet is a NotSupportedError, which the solver reports at the instruction.
 */
import { posix } from "node:path";
import type { BindMountSpec, ExpandedRunInstruction } from "@tsbuild/dockerfile";
import type { RunMount } from "@tsbuild/runtime";
import type { StageState } from "../solver/state.js";
import type { HandlerRoles } from "../solver/roles.js";
import { BuildError, NotSupportedError } from "../errors.js";

export function executorMounts(env: Pick<HandlerRoles, "graph"> & { secrets: ReadonlyMap<string, Buffer> }, st: StageState, i: ExpandedRunInstruction): { mounts: RunMount[]; binds: BindMountSpec[] } {
  const mounts: RunMount[] = [];
  const binds: BindMountSpec[] = [];
  const fail = (msg: string) => new BuildError(msg, env.graph.file, i.position, i.original);
  const inWorkdir = (target: string): string => {
    const abs = posix.resolve(st.image.config.WorkingDir || "/", target);
    if (abs === "/") throw fail(`invalid mount target "${abs}"`);
    return abs;
  };
  const owner = (m: { mode?: number; uid?: number; gid?: number }) =>
    ({ ...(m.mode !== undefined ? { mode: m.mode } : {}), ...(m.uid !== undefined ? { uid: m.uid } : {}), ...(m.gid !== undefined ? { gid: m.gid } : {}) });
  for (const m of i.mounts) {
    switch (m.type) {
      case "bind":
        binds.push(m);
        break;
      case "cache":
        if (m.from !== undefined || m.source !== undefined) throw new NotSupportedError(`RUN --mount=type=cache with ${m.from !== undefined ? "from=" : "source="} is not supported yet`);
        mounts.push({ type: "cache", target: inWorkdir(m.target), id: m.id, sharing: m.sharing, ...(m.readonly ? { readonly: true } : {}), ...owner(m) });
        break;
      case "tmpfs":
        mounts.push({ type: "tmpfs", target: inWorkdir(m.target), ...(m.size !== undefined ? { size: m.size } : {}), ...(m.readonly ? { readonly: true } : {}) });
        break;
      case "secret": {
        const data = env.secrets.get(m.id);
        if (!data) {
          if (m.required) throw fail(`secret ${m.id} is required but was not given (use --secret id=${m.id},src=FILE)`);
          break; // an optional secret that was not given: nothing mounted, as in BuildKit
        }
        mounts.push({ type: "secret", target: m.target, data, ...owner(m) });
        break;
      }
      case "ssh":
        throw new NotSupportedError("RUN --mount=type=ssh is not supported yet");
    }
  }
  return { mounts, binds };
}
