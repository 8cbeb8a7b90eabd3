/**
 * A RUN process's environment, as BuildKit gives it: the step's variables, PATH (the default) and
 * HOME (the user's) when the step has none, then each secret variable replacing any of its name.
 */
import type { RunRequest } from "./executor.js";
import { DEFAULT_PATH } from "./spec.js";

export function processEnv(req: Pick<RunRequest, "env" | "secretEnv">, home: string): string[] {
  const env = [...(req.env ?? [])];
  const has = (k: string) => env.some((e) => e.startsWith(`${k}=`));
  if (!has("PATH")) env.unshift(`PATH=${DEFAULT_PATH}`);
  if (!has("HOME")) env.push(`HOME=${home}`);
  for (const { name, data } of req.secretEnv ?? []) {
    for (let i = env.length - 1; i >= 0; i--) if ((env[i] as string).startsWith(`${name}=`)) env.splice(i, 1);
    env.push(`${name}=${data.toString()}`);
  }
  return env;
}
