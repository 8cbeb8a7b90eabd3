import { resolve } from "node:path";
import { defaultStoreRoot, Store } from "@tsbuild/oci";
import type { CommandIO } from "./command.js";
import type { OptionSpec, ParsedArgs } from "./args.js";
import { str, UsageError } from "./args.js";

export const ROOT_OPTION: OptionSpec = { name: "root", value: true, arg: "DIR", help: "the store", default: "$TSBUILD_ROOT, else /var/lib/tsbuild as root, $XDG_DATA_HOME/tsbuild as another user" };

/** `--snapshotter auto|overlay|copy` (default auto): what build and info ask the engine for. */
export function snapshotterOption(args: ParsedArgs): "auto" | "overlay" | "copy" {
  const snap = str(args, "snapshotter") ?? "auto";
  if (snap !== "auto" && snap !== "overlay" && snap !== "copy") throw new UsageError(`--snapshotter ${snap}: use auto, overlay or copy`);
  return snap;
}

/** --isolation: auto (namespaces, the best this host allows) or chroot (none: weaker, opt-in); anything else is a usage error. */
export function isolationOption(args: ParsedArgs): "auto" | "chroot" {
  const v = str(args, "isolation") ?? "auto";
  if (v !== "auto" && v !== "chroot") throw new UsageError(`--isolation ${v}: use auto or chroot`);
  return v;
}

/**
 * Whether argv (not parsed yet: the user namespace is entered before the command parses its
 * options) asks for --isolation=chroot.
 */
export function asksChrootIsolation(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") return false;
    if (argv[i] === "--isolation=chroot" || (argv[i] === "--isolation" && argv[i + 1] === "chroot")) return true;
  }
  return false;
}

/** The store chosen by --root, else TSBUILD_ROOT, else the default location; relative to the working directory. */
export function storeRoot(args: ParsedArgs, io: CommandIO): string {
  return resolve(io.cwd, str(args, "root") ?? defaultStoreRoot(io.env));
}

export async function openStore(args: ParsedArgs, io: CommandIO): Promise<Store> {
  return Store.open(storeRoot(args, io));
}

/**
 * Opens the store and runs `fn` in a store session, so a concurrent `tsbuild prune` keeps the
 * blobs it writes before it names them (@tsbuild/oci store-sessions.ts).
 */
export async function withStoreSession<T>(args: ParsedArgs, io: CommandIO, kind: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(args, io);
  const session = await store.startSession(kind);
  try {
    return await fn(store);
  } finally {
    await session.end();
  }
}
