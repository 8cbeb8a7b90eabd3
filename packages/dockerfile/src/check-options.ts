/**
 * The `# check=` directive and the BUILDKIT_DOCKERFILE_CHECK build arg (which wins over it), read
 * as BuildKit's linter.ParseLintOptions reads them (Dockerfile 1.8+): up to three `;`-separated
 * options `skip=RULE,…|all`, `experimental=RULE,…|all`, `error=BOOL`; anything else is an error.
 * The directive's value is its first word, as BuildKit takes it. tsbuild runs none of BuildKit's
 * build checks, so the options change nothing but `error=true`, which would make a check fail
 * the build: that one is warned about, never dropped silently.
 */
import { findDirective } from "./directive-scan.js";
import { DockerfileError } from "./errors.js";
import { parseGoBool } from "./go-bool.js";

export const CHECK_BUILD_ARG = "BUILDKIT_DOCKERFILE_CHECK";

export interface CheckOptions {
  skipAll: boolean;
  skip: string[];
  experimentalAll: boolean;
  experimental: string[];
  /** error=true: a check that fires fails the build */
  error: boolean;
}

const NONE: CheckOptions = { skipAll: false, skip: [], experimentalAll: false, experimental: [], error: false };

/** Go's strings.SplitN(s, sep, n). */
function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf(sep);
    if (i === -1) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + sep.length);
  }
  out.push(rest);
  return out;
}

/** linter.ParseLintOptions: the options, or the message of BuildKit's error. */
export function parseCheckOptions(text: string): { ok: true; options: CheckOptions } | { ok: false; message: string } {
  const s = text.trim();
  if (s === "") return { ok: true, options: { ...NONE } };
  const out: CheckOptions = { ...NONE, skip: [], experimental: [] };
  for (const part of splitN(s, ";", 3)) {
    const eq = part.indexOf("=");
    if (eq === -1) return { ok: false, message: `invalid check option "${part}"` };
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    switch (key) {
      case "skip":
        if (value === "all") out.skipAll = true;
        else out.skip = value.split(",").map((r) => r.trim());
        break;
      case "experimental":
        if (value === "all") out.experimentalAll = true;
        else out.experimental = value.split(",").map((r) => r.trim());
        break;
      case "error": {
        const b = parseGoBool(value);
        if (b === undefined) return { ok: false, message: `failed to parse check option "${part}": strconv.ParseBool: parsing "${value}": invalid syntax` };
        out.error = b;
        break;
      }
      default:
        return { ok: false, message: `invalid check option "${key}"` };
    }
  }
  return { ok: true, options: out };
}

export interface CheckChoice {
  options: CheckOptions;
  warnings: string[];
}

/** The check options of `text` with these build args; a bad value is a DockerfileError. */
export function chooseCheckOptions(text: string, buildArgs: ReadonlyMap<string, string>, file = "Dockerfile"): CheckChoice {
  const arg = buildArgs.get(CHECK_BUILD_ARG);
  let options: CheckOptions;
  let where: string;
  if (arg !== undefined) {
    const r = parseCheckOptions(arg);
    if (!r.ok) throw new DockerfileError("directive", `failed to parse ${CHECK_BUILD_ARG}: ${r.message}`, file, undefined);
    options = r.options;
    where = `${file}: --build-arg ${CHECK_BUILD_ARG}`;
  } else {
    const d = findDirective(text, "check", false);
    if (!d) return { options: { ...NONE }, warnings: [] };
    const r = parseCheckOptions(d.value);
    if (!r.ok) {
      throw new DockerfileError("directive", `failed to parse check options: ${r.message}`, file, { line: d.line, column: 1 },
        "write # check=skip=RULE,…|all;error=true|false;experimental=RULE,…|all");
    }
    options = r.options;
    where = `${file}:${d.line}: check`;
  }
  const warnings = options.error
    ? [`${where} error=true: tsbuild does not run BuildKit's build checks (Dockerfile 1.8+), so no check can fail this build`]
    : [];
  return { options, warnings };
}
