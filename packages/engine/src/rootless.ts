/**
 * Builds by a user other than root (rootless), and how a build isolates its RUN steps. A build
 * needs root of some user namespace — the host's, or one tsbuild makes (@tsbuild/runtime
 * rootless/enter.ts) with the user as 0 and its subordinate ids (or the user only). Node cannot
 * enter one itself, so a program that calls build() (or prune()) as another user runs itself again
 * inside one first:
 *
 *   if (needsUserNamespace()) process.exit(await runInUserNamespace(process.execPath, process.argv.slice(1)));
 *
 * as the tsbuild CLI does for every command that touches the store. `isolation: "chroot"` (opt-in,
 * never chosen by tsbuild) runs RUN steps without namespaces (runtime chroot-executor.ts): for root
 * in a pod that can make no namespace.
 */
import { enteredUserNamespace, inUserNamespace, mountOwnProc, readIdMap } from "@tsbuild/oci";
import { detectUserNamespaceSupport, needsUserNamespace, noNamespaceMessage, type IdMapping, type ProcessSandbox } from "@tsbuild/runtime";

/** How RUN steps are isolated: auto (namespaces: runc, as root or rootless, the best detect.ts finds) or chroot (none; opt-in). */
export type IsolationOption = "auto" | "chroot";
export const ISOLATION_OPTIONS: readonly IsolationOption[] = ["auto", "chroot"];

/** build()/prune() called by a user other than root, outside a user namespace. */
export class NeedsUserNamespaceError extends Error {
  override readonly name = "NeedsUserNamespaceError";
  constructor(what: string, message?: string) {
    const uid = process.getuid?.() ?? -1;
    super(message ?? `${what} runs as root or as root of a user namespace, and this process is uid ${uid}: run it inside one (runInUserNamespace from @tsbuild/engine, as the tsbuild command does: see the README's Rootless section), or as root`);
  }
}

const isRoot = () => (process.getuid?.() ?? 0) === 0;

/**
 * Throws NeedsUserNamespaceError unless this process may build (root, of the host or of a user
 * namespace). Root without CAP_SYS_ADMIN (a pod without added capabilities) may: what it cannot do
 * is a RUN in runc (requireRunIsolation).
 */
export function requireBuildPrivileges(what: string): void {
  if (needsUserNamespace() && !isRoot()) throw new NeedsUserNamespaceError(what);
  mountOwnProc(); // in tsbuild's namespace: runc, mount and pid lookups read a /proc of its pid namespace
}

/** A build with RUN steps and the default isolation where runc can make no namespace (root without CAP_SYS_ADMIN, none entered). */
export class RunIsolationError extends Error {
  override readonly name = "RunIsolationError";
}

/**
 * Throws RunIsolationError, saying what the pod needs, when RUN steps cannot be isolated here with
 * `isolation` (auto: runc needs CAP_SYS_ADMIN in this namespace; chroot needs root).
 */
export function requireRunIsolation(isolation: IsolationOption): void {
  if (isolation === "chroot") {
    if (!isRoot()) throw new RunIsolationError(`--isolation=chroot needs root (CAP_SYS_CHROOT), and this process is uid ${process.getuid?.() ?? -1}`);
    return;
  }
  if (!needsUserNamespace()) return;
  const support = detectUserNamespaceSupport();
  throw new RunIsolationError(noNamespaceMessage(support.ok ? "none was entered: run tsbuild's command, which enters one, or runInUserNamespace first" : support.why));
}

/** How this process isolates a build's RUN steps. */
export interface IsolationMode {
  /** root of a user namespace (not the host's) */
  rootless: boolean;
  kind: "root" | "rootless" | "chroot";
  /** the user outside (a namespace tsbuild made) */
  user?: { uid: number; gid: number };
  /** the namespace's ids: the user's subordinate ids, or the user only (a RUN cannot chown to another id) */
  idMapping?: IdMapping;
  /** own: a pid namespace and procfs per RUN; shared: RUN sees tsbuild's processes (no process sandbox) */
  processSandbox?: ProcessSandbox;
  /** why the mapping and the sandbox are what they are */
  why?: { idMapping?: string; processSandbox?: string };
}

/** How this process isolates a build (asked: the build's isolation option). */
export function isolationMode(asked: IsolationOption = "auto"): IsolationMode {
  const entered = enteredUserNamespace();
  const rootless = entered !== undefined || inUserNamespace();
  const kind = asked === "chroot" ? "chroot" : rootless ? "rootless" : "root";
  if (!entered) return { rootless, kind };
  return {
    rootless, kind, user: { uid: entered.uid, gid: entered.gid },
    idMapping: entered.idMapping ?? "subids", processSandbox: entered.processSandbox ?? "own",
    ...(entered.why ? { why: entered.why } : {}),
  };
}

/**
 * What a failed RUN and a refused --chown add in a namespace that maps one id only: why, and that
 * no file can be given another owner there (the kernel refuses chown to an unmapped id: EINVAL).
 */
export function singleIdNote(): string | undefined {
  const iso = isolationMode();
  if (iso.idMapping !== "single") return undefined;
  return `this build maps one id only (${iso.why?.idMapping ?? "the user only, as 0"}): files cannot be given owners other than root (a RUN's chown, COPY --chown)`;
}

/** Whether this process's user namespace maps `uid` and `gid` (always, outside one). */
export function idsMapped(uid: number, gid: number): boolean {
  if (!inUserNamespace()) return true;
  const has = (file: string, id: number) => readIdMap(file).some((r) => id >= r.inside && id < r.inside + r.count);
  return has("/proc/self/uid_map", uid) && has("/proc/self/gid_map", gid);
}
