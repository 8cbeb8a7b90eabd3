import { defaultStoreRoot, Store } from "@tsbuild/oci";
import type { CommandIO } from "./command.js";
import type { OptionSpec, ParsedArgs } from "./args.js";
import { str } from "./args.js";

export const ROOT_OPTION: OptionSpec = { name: "root", value: true };

/** Opens the store chosen by --root, else TSBUILD_ROOT, else the default location. */
export async function openStore(args: ParsedArgs, io: CommandIO): Promise<Store> {
  return Store.open(str(args, "root") ?? defaultStoreRoot(io.env));
}
