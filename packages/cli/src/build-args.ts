/** `--build-arg K=V` and `--build-arg K` (value from the environment, skipped when unset), as docker. */
export function parseBuildArgs(values: readonly string[], env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf("=");
    if (eq === -1) {
      const fromEnv = env[v];
      if (fromEnv !== undefined) out.set(v, fromEnv);
    } else {
      out.set(v.slice(0, eq), v.slice(eq + 1));
    }
  }
  return out;
}
