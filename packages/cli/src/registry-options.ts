import type { ClientOptions } from "@tsbuild/registry";
import type { CommandIO } from "./command.js";
import { list, type OptionSpec, type ParsedArgs } from "./args.js";

export const INSECURE_OPTION: OptionSpec = { name: "insecure-registry", value: true, repeat: true, arg: "HOST", help: "a registry reached over plain http" };

export function clientOptions(args: ParsedArgs, io: CommandIO): ClientOptions {
  return { insecureRegistries: list(args, "insecure-registry"), env: io.env };
}
