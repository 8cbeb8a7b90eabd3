/**
 * What a RUN's typed mounts (packages/dockerfile/src/mount-spec.ts, checked there) become for the
 * executor: caches (seeded ones through run-cache-seed.ts), tmpfs, secrets as files and in the
 * environment, binds for run-bind.ts to put in place. Targets are resolved against the working
 * directory, as BuildKit does (a secret's too). A secret that was not given is an error when
 * required; otherwise its file is not mounted and its variable is set empty, as in BuildKit. A
 * secret holding a NUL byte cannot be a variable (runc refuses it, printing it): refused here. Every
 * cache is in the build's cache namespace (BUILDKIT_CACHE_MOUNT_NS), with `from` too. What
 * the engine does not build yet is a NotSupportedError, which the solver reports at the instruction.
 *
 * An ssh mount (as BuildKit's llb ExecOp and sshforward): the agent `--ssh` gave for its id, as a
 * socket of the RUN's own at its target (default /run/buildkit/ssh_agent.N, N its place among the
 * RUN's ssh mounts), mode 0600 and owner 0:0 unless asked; SSH_AUTH_SOCK names the first ssh mount's
 * target (as written) unless the RUN's environment has one. An id not given fails at the line when
 * required ("unset ssh forward key ID", BuildKit's words); otherwise that mount is skipped, the
 * variable still set (as BuildKit).
 */
import { posix } from "node:path";
import type { BindMountSpec, CacheMountSpec, ExpandedRunInstruction } from "@tsbuild/dockerfile";
import type { RunMount } from "@tsbuild/runtime";
import type { StageState } from "../solver/state.js";
import type { HandlerRoles } from "../solver/roles.js";
import { BuildError } from "../errors.js";
import type { SshAgents } from "../ssh/ssh-agents.js";

/** A RUN's mounts, sorted by what puts them in place. */
export interface MountPlan {
  /** tmpfs, secret files and caches without `from`, ready for the executor */
  mounts: RunMount[];
  /** caches with `from`, each with its target resolved; their seeds come from run-cache-seed.ts */
  seeded: (CacheMountSpec & { from: string })[];
  binds: BindMountSpec[];
  /** secrets in the environment (RUN --mount=type=secret,env=NAME) */
  secretEnv: { name: string; data: Buffer }[];
  /** ssh mounts whose agent was given, targets resolved; their sockets come from the SshAgents role */
  ssh: { id: string; target: string; mode: number; uid: number; gid: number }[];
  /** the ids of ssh mounts skipped (not required, not given) */
  sshSkipped: string[];
  /** SSH_AUTH_SOCK for the RUN (the first ssh mount's target), when the RUN has an ssh mount */
  sshAuthSock?: string;
}

const owner = (m: { mode?: number; uid?: number; gid?: number }) =>
  ({ ...(m.mode !== undefined ? { mode: m.mode } : {}), ...(m.uid !== undefined ? { uid: m.uid } : {}), ...(m.gid !== undefined ? { gid: m.gid } : {}) });

/**
 * The cache mount for the executor (a seeded one gets its seed later), in `namespace`
 * (BUILDKIT_CACHE_MOUNT_NS, `builderArgs.cacheMountNamespace`).
 */
export function cacheMount(m: CacheMountSpec, target: string, namespace: string | undefined): Extract<RunMount, { type: "cache" }> {
  return {
    type: "cache", target, id: m.id, ...(namespace !== undefined ? { namespace } : {}), sharing: m.sharing, ...(m.readonly ? { readonly: true } : {}), ...owner(m),
    ...(m.source !== undefined ? { source: m.source } : {}),
  };
}

export function planMounts(env: Pick<HandlerRoles, "graph"> & { secrets: ReadonlyMap<string, Buffer>; ssh: Pick<SshAgents, "has"> }, st: StageState, i: ExpandedRunInstruction): MountPlan {
  const plan: MountPlan = { mounts: [], seeded: [], binds: [], secretEnv: [], ssh: [], sshSkipped: [] };
  let sshIndex = 0;
  const fail = (msg: string) => new BuildError(msg, env.graph.file, i.position, i.original);
  const inWorkdir = (target: string): string => {
    const abs = posix.resolve(st.image.config.WorkingDir || "/", target);
    if (abs === "/") throw fail(`invalid mount target "${abs}"`);
    return abs;
  };
  for (const m of i.mounts) {
    switch (m.type) {
      case "bind":
        plan.binds.push(m);
        break;
      case "cache":
        if (m.from !== undefined) plan.seeded.push({ ...m, from: m.from, target: inWorkdir(m.target) });
        else plan.mounts.push(cacheMount(m, inWorkdir(m.target), env.graph.builderArgs.cacheMountNamespace));
        break;
      case "tmpfs":
        plan.mounts.push({ type: "tmpfs", target: inWorkdir(m.target), ...(m.size !== undefined ? { size: m.size } : {}), ...(m.readonly ? { readonly: true } : {}) });
        break;
      case "secret": {
        const data = env.secrets.get(m.id);
        if (!data && m.required) throw fail(`secret ${m.id}: not found (it is required: give it with --secret id=${m.id},src=FILE or env=VAR)`);
        // an optional secret that was not given: no file, an empty variable (as BuildKit)
        if (m.env !== undefined) {
          // runc refuses such a variable with an error that prints it, value and all: said here instead, the value never shown
          if (m.env.includes("\0") || data?.includes(0)) {
            throw fail(`secret ${m.id}: its value holds a NUL byte, which an environment variable cannot hold (env=${m.env.replace(/\0/g, "\\0")}); mount it as a file instead (target=PATH, without env=)`);
          }
          plan.secretEnv.push({ name: m.env, data: data ?? Buffer.alloc(0) });
        }
        if (data && m.target !== undefined) plan.mounts.push({ type: "secret", target: inWorkdir(m.target), data, ...owner(m) });
        break;
      }
      case "ssh": {
        const target = m.target ?? `/run/buildkit/ssh_agent.${sshIndex}`;
        sshIndex++;
        plan.sshAuthSock ??= target;
        if (!env.ssh.has(m.id)) {
          if (m.required) throw fail(`unset ssh forward key ${m.id} (it is required: give it with --ssh ${m.id}[=SOCKET_OR_KEY_FILE])`);
          plan.sshSkipped.push(m.id);
          break;
        }
        plan.ssh.push({ id: m.id, target: inWorkdir(target), mode: (m.mode ?? 0o600) & 0o777, uid: m.uid ?? 0, gid: m.gid ?? 0 });
        break;
      }
    }
  }
  return plan;
}
