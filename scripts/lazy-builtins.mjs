// An esbuild plugin for the CLI bundle: the Node built-in modules a command may never use (zlib,
// child_process, http, worker_threads, …) are loaded on first use instead of when the bundle starts.
// Each such import becomes a small module whose exports are getters that require() the real one the
// first time any of them is read: esbuild reads a named import at each use (`(0, ns.f)(…)`), so
// nothing is read early, and code that does read one at load time (`class X extends Transform`)
// loads it then, as before. Node loads ~30 internal modules for these (crypto alone ~5 ms, http ~7 ms,
// child_process with net ~5 ms); a command that needs none of them skips them. The export names come
// from the Node that bundles (the one that runs the bundle: the same `node`).
import { builtinModules, createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** Loaded by Node before any script runs (bootstrap): nothing to gain by deferring them. */
const PRELOADED = new Set(["fs", "path", "events", "buffer", "util", "url", "process", "module", "vm", "timers", "os"]);

export const LAZY = builtinModules.filter((m) => !m.startsWith("_") && !PRELOADED.has(m) && !PRELOADED.has(m.split("/")[0]));

export function lazyBuiltins() {
  const names = new Set(LAZY);
  return {
    name: "lazy-builtins",
    setup(b) {
      b.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, (args) => {
        const name = args.path.replace(/^node:/, "");
        if (!names.has(name) || args.namespace === "lazy-builtin") return undefined;
        return { path: name, namespace: "lazy-builtin" };
      });
      b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, (args) => {
        const keys = Object.getOwnPropertyNames(require(`node:${args.path}`)).filter((k) => k !== "default" && k !== "__esModule");
        const getters = keys.map((k) => `  ${JSON.stringify(k)}: { get: () => load()[${JSON.stringify(k)}], enumerable: true },`).join("\n");
        return {
          loader: "js",
          contents: `let real;\nconst load = () => (real ??= require("node:${args.path}"));\nmodule.exports = Object.defineProperties({}, {\n${getters}\n});\n`,
        };
      });
    },
  };
}
