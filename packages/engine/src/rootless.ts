/**
 * Builds by a user other than root (rootless): what the library says of them. A build needs root of
 * some user namespace — the host's, or one tsbuild makes (@tsbuild/runtime rootless/enter.ts) with
 * the user as 0 and its subordinate ids. Node cannot enter one itself, so a program that calls
 * build() (or prune()) as another user runs itself again inside one first:
 *
 *   if (needsUserNamespace()) process.exit(await runInUserNamespace(process.execPath, process.argv.slice(1)));
 *
 * as the tsbuild CLI does for every command that touches the store.
 */
import { enteredUserNamespace, inUserNamespace, mountOwnProc } from "@tsbuild/oci";
import { needsUserNamespace } from "@tsbuild/runtime";

/** build()/prune() called by a user other than root, outside a user namespace. */
export class NeedsUserNamespaceError extends Error {
  override readonly name = "NeedsUserNamespaceError";
  constructor(what: string) {
    const uid = process.getuid?.() ?? -1;
    super(`${what} runs as root or as root of a user namespace, and this process is uid ${uid}: run it inside one (runInUserNamespace from @tsbuild/engine, as the tsbuild command does: see the README's Rootless section), or as root`);
  }
}

/** Throws NeedsUserNamespaceError unless this process may build (root, of the host or of a user namespace). */
export function requireBuildPrivileges(what: string): void {
  if (needsUserNamespace()) throw new NeedsUserNamespaceError(what);
  mountOwnProc(); // in tsbuild's namespace: runc, mount and pid lookups read a /proc of its pid namespace
}

/** How this process isolates a build: as the host's root, or rootless (root of a user namespace). */
export function isolationMode(): { rootless: boolean; user?: { uid: number; gid: number } } {
  const entered = enteredUserNamespace();
  if (entered) return { rootless: true, user: { uid: entered.uid, gid: entered.gid } };
  return { rootless: inUserNamespace() };
}
