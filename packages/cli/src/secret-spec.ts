/**
 * `--secret id=ID[,src=PATH|,env=VAR][,type=file|env]`, read as buildx reads it
 * (util/buildflags/secrets.go): CSV fields (parseSpecFields), keys lowercased, every field KEY=VALUE,
 * `source` for `src`; `type=env` takes the variable's name from `src=` when `env=` is not given.
 * Any other key is a usage error. Without `src=` or `env=` the secret is the environment variable
 * named ID when it is set, else the file named ID (BuildKit's secretsprovider). An empty value is
 * skipped (parseSecretSpec gives undefined), as buildx does.
 */
import { parseSpecFields, SpecSyntaxError, type SpecField } from "@tsbuild/dockerfile";
import { UsageError } from "./args.js";

export interface SecretSpec {
  id: string;
  /** a file (relative to the working directory) */
  src?: string;
  /** an environment variable's name */
  env?: string;
}

export function parseSecretSpec(spec: string): SecretSpec | undefined {
  if (spec === "") return undefined;
  const bad = (why: string) => new UsageError(`--secret ${spec}: ${why}`);
  let fields: SpecField[];
  try {
    fields = parseSpecFields(spec);
  } catch (e) {
    if (e instanceof SpecSyntaxError) throw bad(`failed to parse csv secret: ${e.message}`);
    throw e;
  }
  let id: string | undefined;
  let src: string | undefined;
  let env: string | undefined;
  let type: string | undefined;
  for (const f of fields) {
    const key = f.key.toLowerCase();
    if (f.value === undefined) throw bad(`invalid field '${f.text}' must be a key=value pair`);
    switch (key) {
      case "type":
        if (f.value !== "file" && f.value !== "env") throw bad(`unsupported secret type "${f.value}" (use type=file or type=env)`);
        type = f.value;
        break;
      case "id":
        id = f.value;
        break;
      case "source":
      case "src":
        src = f.value;
        break;
      case "env":
        env = f.value;
        break;
      default:
        throw bad(`unexpected key '${key}' in '${f.text}' (use id=, src=, env= or type=)`);
    }
  }
  // Go's empty strings: an empty env= or src= is none
  if (type === "env" && !env) [env, src] = [src, undefined];
  if (!id) throw bad("secret missing ID (give id=ID)");
  return { id, ...(src ? { src } : {}), ...(env ? { env } : {}) };
}
