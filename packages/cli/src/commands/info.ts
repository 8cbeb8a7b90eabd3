import { hostInfo, type HostInfo } from "@tsbuild/engine";
import type { Command } from "../command.js";
import { EXIT_FAILED, EXIT_OK } from "../command.js";
import { parseArgs, str, UsageError } from "../args.js";
import { ROOT_OPTION, snapshotterOption, storeRoot } from "../store-options.js";
import { humanSize } from "../format.js";
import { VERSION } from "../version.js";
import { rootlessSetupProblem } from "../rootless-entry.js";

/** An id map as "0→1001, 1-65536→100000-165535" (inside → outside). */
function idMap(map: { inside: number; outside: number; count: number }[]): string {
  const span = (a: number, n: number) => (n === 1 ? `${a}` : `${a}-${a + n - 1}`);
  return map.map((r) => `${span(r.inside, r.count)}→${span(r.outside, r.count)}`).join(", ");
}

function text(info: HostInfo & { version: string }): string {
  const yes = (b: boolean) => (b ? "yes" : "no");
  const lines = [
    `tsbuild:      ${info.version} (Node.js ${info.node})`,
    `store:        ${info.store.root} (${info.store.exists ? humanSize(info.store.size) : "not made yet"})`,
    `snapshotter:  ${info.snapshotter.kind}: ${info.snapshotter.why}`,
    `runtime:      ${info.runtime.path ? `${info.runtime.path} (${info.runtime.version ?? "version unknown"})` : "runc not found"}`,
    `cgroups:      ${info.cgroup}`,
    `user:         ${info.user.mode} (uid ${info.user.uid})${info.user.uidMap ? `; user namespace uids ${idMap(info.user.uidMap)}, gids ${idMap(info.user.gidMap ?? [])}` : ""}`,
    ...(info.user.idMapping || info.user.processSandbox ? [`isolation:    ids: ${info.user.why?.idMapping ?? info.user.idMapping}; processes: ${info.user.why?.processSandbox ?? info.user.processSandbox}`] : []),
    `security:     seccomp ${info.security.seccomp}, no_new_privs ${yes(info.security.noNewPrivs)}, CAP_SYS_ADMIN ${yes(info.security.sysAdmin)}`,
    `kernel:       ${info.kernel.release}; overlayfs ${yes(info.kernel.overlayfs)}, user namespaces ${yes(info.kernel.userNamespaces)}`,
    "system tools:",
    ...info.tools.map((t) => `  ${t.name.padEnd(9)} ${t.path ? t.path.padEnd(22) : `missing (apt-get install ${t.pkg})`.padEnd(22)} ${t.needs}`),
    `registries:   ${info.registries.path || "no docker config"}`,
    `  logins:     ${info.registries.logins.length ? info.registries.logins.join(", ") : "none"}`,
    `  helpers:    ${[...(info.registries.credsStore ? [`credsStore ${info.registries.credsStore}`] : []), ...Object.entries(info.registries.credHelpers).map(([h, n]) => `${h}: ${n}`)].join(", ") || "none"}`,
  ];
  if (info.problems.length) lines.push("problems (a build cannot run here until they are fixed):", ...info.problems.map((p) => `  - ${p}`));
  else lines.push("ready: builds can run here");
  return lines.join("\n") + "\n";
}

const OPTIONS = [
  ROOT_OPTION,
  { name: "snapshotter", value: true, arg: "auto|overlay|copy", help: "the snapshotter a build would be asked for", default: "auto" },
  { name: "format", value: true, arg: "text|json", help: "how to print it", default: "text" },
];

export const infoCommand: Command = {
  name: "info",
  summary: "show what tsbuild found on this host (store, snapshotter, runtime, tools); fails when a build could not run here",
  usage: "tsbuild info [--root DIR] [--snapshotter auto|overlay|copy] [--format text|json]",
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    if (args.positionals.length) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
    const format = str(args, "format") ?? "text";
    if (format !== "text" && format !== "json") throw new UsageError(`--format ${format}: use text or json`);
    const snap = snapshotterOption(args);
    const info = { version: VERSION, ...(await hostInfo(storeRoot(args, io), snap, io.env, rootlessSetupProblem())) };
    io.stdout.write(format === "json" ? JSON.stringify(info, null, 2) + "\n" : text(info));
    return info.problems.length ? EXIT_FAILED : EXIT_OK;
  },
};
