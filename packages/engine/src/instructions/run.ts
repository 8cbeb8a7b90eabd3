import { canonicalMountSpec, type ExpandedRunInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { BuildError } from "../errors.js";
import { envMap } from "../image/image-state.js";
import { bindIdentity, withBinds } from "./run-bind.js";
import { cacheMount, planMounts } from "./run-mounts.js";
import { cacheSeedIdentity, withCacheSeeds } from "./run-cache-seed.js";
import { checkRunEntitlements } from "./entitlements.js";
import { runCommand, scriptInputs, withScript } from "./run-command.js";
import { singleIdNote } from "../rootless.js";
import { hostArchitecture, platformName, platformRunnable, type CacheSeed, type RunMount } from "@tsbuild/runtime";
import { timePhase } from "../step/phases.js";

export const run: InstructionHandler<ExpandedRunInstruction, "graph" | "steps" | "context" | "sources" | "containers"> = async (roles, st, i) => {
  const { containers } = roles;
  const network = i.network === undefined || i.network === "default" ? containers.network : i.network;
  const security = i.security ?? "sandbox";
  checkRunEntitlements(containers.allow, i, roles.graph.file);
  const command = runCommand(i, st.image.config.Shell ?? ["/bin/sh", "-c"], st.image.os);
  const { args } = command;
  const { mounts, seeded, binds, secretEnv, ssh, sshSkipped, sshAuthSock } = planMounts({ graph: roles.graph, secrets: containers.secrets, ssh: containers.ssh }, st, i);
  const argEntries = st.args.entries();
  const vars = envMap(st.image.config);
  const keyEnv = [...(st.image.config.Env ?? [])];
  for (const [k, v] of argEntries) if (!vars.has(k)) keyEnv.push(`${k}=${v}`);
  // the undeclared proxy args (HTTP_PROXY…) reach the process only: not the history, the cache key
  // or the cache record (BuildKit drops ProxyEnv from an exec's cache key too)
  const runEnv = [...keyEnv];
  for (const [k, v] of st.args.proxyArgs()) if (!vars.has(k)) runEnv.push(`${k}=${v}`);
  // as BuildKit's ExecOp: the first ssh mount's socket, unless the image or a build arg names one (in the key through `mounts`)
  if (sshAuthSock !== undefined && !keyEnv.some((e) => e.startsWith("SSH_AUTH_SOCK="))) runEnv.push(`SSH_AUTH_SOCK=${sshAuthSock}`);
  const prefix = argEntries.length ? `|${argEntries.length} ${argEntries.map(([k, v]) => `${k}=${v}`).join(" ")} ` : "";
  const createdBy = `RUN ${prefix}${args.join(" ")} # buildkit`;
  const id = st.stepId;
  const tail: string[] = [];
  const { cacheMountNamespace, sandboxHostname } = roles.graph.builderArgs;
  const hasCache = i.mounts.some((m) => m.type === "cache");
  const inputs = {
    args: JSON.stringify(argEntries), env: JSON.stringify(keyEnv), user: st.image.config.User ?? "", workdir: st.image.config.WorkingDir || "/",
    network, mounts: JSON.stringify(i.mounts.map(canonicalMountSpec)), secrets: JSON.stringify([...containers.secrets.keys()].sort()),
    // mount stubs are removed as BuildKit 0.13 removes them (every empty one up from a target): a
    // result older tsbuild versions cached under the same key kept the directories
    ...(i.mounts.length ? { stubs: "recursive" } : {}),
    ...(security !== "sandbox" ? { security } : {}),
    ...(binds.length ? { binds: JSON.stringify(await Promise.all(binds.map((b) => bindIdentity(roles, st, b)))) } : {}),
    ...scriptInputs(command),
    ...(seeded.length ? { cacheFrom: JSON.stringify(await Promise.all(seeded.map((m) => cacheSeedIdentity(roles, st, m)))) } : {}),
    // as in BuildKit's ExecOp: the cache ids a mount names carry the namespace; the meta, a hostname given
    ...(hasCache && cacheMountNamespace !== undefined ? { cacheNamespace: cacheMountNamespace } : {}),
    ...(sandboxHostname !== undefined ? { hostname: sandboxHostname } : {}),
    // an optional ssh mount that was skipped (its id not given) ran without the agent: not the result of a RUN that had it
    ...(sshSkipped.length ? { sshSkipped: JSON.stringify(sshSkipped) } : {}),
  };
  return roles.steps.change(st, createdBy, async (root) => {
    // another platform's binaries run only through a registered emulator: said here, not as runc's "exec format error"
    const runnable = platformRunnable(st.image);
    if (!runnable.ok) throw new BuildError(`RUN for ${platformName(st.image)} cannot run on this linux/${hostArchitecture()} host: ${runnable.why}`, roles.graph.file, i.position, i.original);
    const sshMounts: RunMount[] = await Promise.all(ssh.map(async (s) => {
      const agent = await containers.ssh.agent(s.id);
      if (!agent) throw new BuildError(`unset ssh forward key ${s.id}`, roles.graph.file, i.position, i.original);
      return { type: "ssh" as const, target: s.target, agent: agent.socket, readOnly: agent.readOnly, mode: s.mode, uid: s.uid, gid: s.gid };
    }));
    const r = await withCacheSeeds(roles, st, seeded, i, (seeds) => withBinds(roles, st, binds, i, (bound) => withScript(roles.sources, command.script, (script) => timePhase(st, "runc", () => containers.executor.run({
      rootfs: root, args, env: runEnv, cwd: st.image.config.WorkingDir || "/", user: st.image.config.User ?? "", network, security,
      ...(sandboxHostname !== undefined ? { hostname: sandboxHostname } : {}),
      mounts: [...script, ...mounts, ...sshMounts, ...seeded.map((m, n) => ({ ...cacheMount(m, m.target, cacheMountNamespace), seed: seeds[n] as CacheSeed })), ...bound],
      ...(secretEnv.length ? { secretEnv } : {}), signal: containers.signal,
      onOutput: (stream, chunk) => {
        const text = chunk.toString();
        containers.emit({ type: "step-output", id, stream, data: text });
        tail.push(...text.split("\n").filter(Boolean));
        if (tail.length > 20) tail.splice(0, tail.length - 20);
      },
    })))));
    if (r.killed === "abort") throw new BuildError("the build was cancelled", roles.graph.file, i.position, i.original, r.exitCode, tail);
    if (r.exitCode !== 0) {
      const note = singleIdNote(); // a chown to another id fails in a namespace of one id: say why
      throw new BuildError(`process "${args.join(" ")}" did not complete successfully: exit code: ${r.exitCode}${note ? ` (${note})` : ""}`, roles.graph.file, i.position, i.original, r.exitCode, tail);
    }
  }, inputs, undefined, "containers"); // a container waits or sleeps as often as it computes: not bounded by cores
};
