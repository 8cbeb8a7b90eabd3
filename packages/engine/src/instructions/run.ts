import { chompHeredocContent, type RunInstruction } from "@tsbuild/dockerfile";
import type { RunMount } from "@tsbuild/runtime";
import type { InstructionHandler } from "./types.js";
import { BuildError, NotSupportedError } from "../errors.js";
import { envMap } from "../image/image-state.js";
import { bindIdentity, withBinds, type BindSpec } from "./run-bind.js";
import type { StageState } from "../solver/state.js";
import type { HandlerRoles } from "../solver/roles.js";

function runArgs(st: StageState, i: RunInstruction): string[] {
  const shell = st.image.config.Shell ?? ["/bin/sh", "-c"];
  if (i.cmd.form === "exec") return i.cmd.args;
  const h = i.heredocs[0];
  if (h && /^\d*<<-?\S+$/.test(i.cmd.command.trim()) && i.heredocs.length === 1) {
    // RUN <<EOF … EOF: the heredoc is the script
    return [...shell, h.chomp ? chompHeredocContent(h.content) : h.content];
  }
  if (i.heredocs.length > 0) throw new NotSupportedError("RUN with a heredoc that is not the whole command is not supported yet");
  return [...shell, i.cmd.command];
}

function parseMounts(env: Pick<HandlerRoles, "graph"> & { secrets: ReadonlyMap<string, Buffer> }, i: RunInstruction): { mounts: RunMount[]; binds: BindSpec[] } {
  const out: RunMount[] = [];
  const binds: BindSpec[] = [];
  for (const spec of i.mounts) {
    const kv = new Map<string, string>();
    for (const field of spec.split(",")) {
      const eq = field.indexOf("=");
      kv.set((eq === -1 ? field : field.slice(0, eq)).trim().toLowerCase(), eq === -1 ? "true" : field.slice(eq + 1));
    }
    const type = kv.get("type") ?? "bind";
    const target = kv.get("target") ?? kv.get("dst") ?? kv.get("destination");
    const num = (k: string) => (kv.has(k) ? Number.parseInt(kv.get(k) as string, k === "mode" ? 8 : 10) : undefined);
    if (type === "cache" && target) {
      const sharing = kv.get("sharing") as "shared" | "private" | "locked" | undefined;
      out.push({ type: "cache", target, id: kv.get("id") ?? target, ...(sharing ? { sharing } : {}),
        ...(num("mode") !== undefined ? { mode: num("mode") } : {}), ...(num("uid") !== undefined ? { uid: num("uid") } : {}), ...(num("gid") !== undefined ? { gid: num("gid") } : {}) });
    } else if (type === "bind") {
      if (!target) throw new BuildError("RUN --mount=type=bind needs target=PATH", env.graph.file, i.position, i.original);
      const from = kv.get("from");
      const rw = kv.get("rw") ?? kv.get("readwrite");
      binds.push({ target, source: kv.get("source") ?? kv.get("src") ?? "", ...(from ? { from } : {}), readwrite: rw === "true" });
    } else if (type === "tmpfs" && target) {
      out.push({ type: "tmpfs", target });
    } else if (type === "secret") {
      const id = kv.get("id") ?? (target ? target.split("/").pop() : undefined);
      const data = id ? env.secrets.get(id) : undefined;
      if (!data) {
        if (kv.get("required") === "true") throw new BuildError(`secret ${id} is required but was not given (use --secret id=${id},src=FILE)`, env.graph.file, i.position, i.original);
        continue;
      }
      out.push({ type: "secret", target: target ?? `/run/secrets/${id}`, data,
        ...(num("mode") !== undefined ? { mode: num("mode") } : {}), ...(num("uid") !== undefined ? { uid: num("uid") } : {}), ...(num("gid") !== undefined ? { gid: num("gid") } : {}) });
    } else {
      throw new NotSupportedError(`RUN --mount=type=${type} is not supported yet`);
    }
  }
  return { mounts: out, binds };
}

export const run: InstructionHandler<RunInstruction, "graph" | "steps" | "context" | "sources" | "containers"> = async (roles, st, i) => {
  const { containers } = roles;
  if (i.security !== undefined && i.security !== "sandbox") throw new NotSupportedError(`RUN --security=${i.security} is not supported yet`);
  const args = runArgs(st, i);
  const { mounts, binds } = parseMounts({ graph: roles.graph, secrets: containers.secrets }, i);
  const argEntries = st.args.entries();
  const vars = envMap(st.image.config);
  const keyEnv = [...(st.image.config.Env ?? [])];
  for (const [k, v] of argEntries) if (!vars.has(k)) keyEnv.push(`${k}=${v}`);
  // the undeclared proxy args (HTTP_PROXY…) reach the process only: not the history, the cache key
  // or the cache record (BuildKit drops ProxyEnv from an exec's cache key too)
  const runEnv = [...keyEnv];
  for (const [k, v] of st.args.proxyArgs()) if (!vars.has(k)) runEnv.push(`${k}=${v}`);
  const prefix = argEntries.length ? `|${argEntries.length} ${argEntries.map(([k, v]) => `${k}=${v}`).join(" ")} ` : "";
  const createdBy = `RUN ${prefix}${args.join(" ")} # buildkit`;
  const network = (i.network ?? containers.network) as "default" | "host" | "none";
  if (!["default", "host", "none"].includes(network)) throw new NotSupportedError(`RUN --network=${network} is not supported (default, host or none)`);
  const id = st.stepId;
  const tail: string[] = [];
  const inputs = {
    args: JSON.stringify(argEntries), env: JSON.stringify(keyEnv), user: st.image.config.User ?? "", workdir: st.image.config.WorkingDir || "/",
    network, mounts: JSON.stringify(i.mounts), secrets: JSON.stringify([...containers.secrets.keys()].sort()),
    ...(binds.length ? { binds: JSON.stringify(await Promise.all(binds.map((b) => bindIdentity(roles, st, b)))) } : {}),
  };
  return roles.steps.change(st, createdBy, async (root) => {
    const r = await withBinds(roles, st, binds, i, (bound) => containers.executor.run({
      rootfs: root, args, env: runEnv, cwd: st.image.config.WorkingDir || "/", user: st.image.config.User ?? "", network, mounts: [...mounts, ...bound], signal: containers.signal,
      onOutput: (stream, chunk) => {
        const text = chunk.toString();
        containers.emit({ type: "step-output", id, stream, data: text });
        tail.push(...text.split("\n").filter(Boolean));
        if (tail.length > 20) tail.splice(0, tail.length - 20);
      },
    }));
    if (r.killed === "abort") throw new BuildError("the build was cancelled", roles.graph.file, i.position, i.original, r.exitCode, tail);
    if (r.exitCode !== 0) {
      throw new BuildError(`process "${args.join(" ")}" did not complete successfully: exit code: ${r.exitCode}`, roles.graph.file, i.position, i.original, r.exitCode, tail);
    }
  }, inputs, undefined, "containers"); // a container waits or sleeps as often as it computes: not bounded by cores
};
