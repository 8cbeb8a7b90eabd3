/**
 * A user other than root builds rootless: every command that touches the store runs again inside a
 * user namespace made for it (@tsbuild/runtime rootless/enter.ts: the user as 0, its subordinate
 * ids from 1, a mount and a pid namespace of its own), with the same arguments, streams and
 * environment; the store is the user's ($XDG_DATA_HOME/tsbuild). Inside, the command stops when
 * the process that made the namespace is gone. parse, login and completion never need it.
 *
 * Root without CAP_SYS_ADMIN (a pod without added capabilities) enters one too; where none can be
 * made it runs its commands here: store commands need no namespace, nor does a build without RUN
 * steps; a build with RUN steps fails, saying what the pod needs, unless it asks for
 * --isolation=chroot (then root never enters one: it chroots, and a namespace would only take its
 * ids away).
 */
import type { CommandIO } from "./command.js";
import { asksChrootIsolation } from "./store-options.js";
import { EXIT_FAILED } from "./command.js";

const OUTSIDE = new Set(["parse", "login", "completion"]);

let setupProblem: string | undefined;
/** Why the namespace could not be made, when `tsbuild info` runs outside one instead. */
export function rootlessSetupProblem(): string | undefined {
  return setupProblem;
}

/**
 * Runs the command in a user namespace when it needs one, and resolves to its exit code; undefined
 * when the command runs here (root, inside one already, or a command that needs none).
 */
export async function runRootless(command: string, argv: readonly string[], io: CommandIO): Promise<number | undefined> {
  // root, not inside a namespace of ours (the variable oci's USERNS_ENV names): nothing to load
  if (io.env.TSBUILD_USERNS === undefined && (OUTSIDE.has(command) || process.getuid?.() === 0)) return undefined;
  const [{ enteredUserNamespace }, { needsUserNamespace, RootlessSetupError, runInUserNamespace, watchEnteringProcess }] = await Promise.all([import("@tsbuild/oci"), import("@tsbuild/engine")]);
  if (enteredUserNamespace(io.env)) {
    watchEnteringProcess();
    return undefined;
  }
  if (OUTSIDE.has(command) || !needsUserNamespace()) return undefined;
  const root = process.getuid?.() === 0;
  if (root && command === "build" && asksChrootIsolation(argv)) return undefined;
  const script = process.argv[1];
  if (!script) return undefined;
  try {
    return await runInUserNamespace(process.execPath, [script, ...argv], { env: io.env });
  } catch (e) {
    if (!(e instanceof RootlessSetupError)) throw e;
    if (command === "info" || root) {
      setupProblem = e.message;
      return undefined;
    }
    io.stderr.write(`tsbuild ${command}: ${e.message}\n`);
    return EXIT_FAILED;
  }
}
