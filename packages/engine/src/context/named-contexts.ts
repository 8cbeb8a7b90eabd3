/**
 * Named build contexts (buildx's `--build-context NAME=VALUE`, BuildKit's `context:NAME` frontend
 * options): what a value means, and the name a Dockerfile reference is looked up by. A named
 * context stands in for the stage of that name (the stage's own instructions are not run) and for
 * the image of that name (`FROM busybox`, `COPY --from=busybox`, `RUN --mount=from=busybox`); a
 * stage name wins over a context for `FROM NAME`, as in BuildKit (the stage itself may be
 * overridden). `scratch` and `context` are never looked up.
 */
import { isAbsolute, resolve } from "node:path";
import { familiarName, isDigest, parseReference, type Digest } from "@tsbuild/oci";
import { reachableFrom, type BuildGraph, type Stage } from "@tsbuild/dockerfile";
import { isGitSource } from "../copy/git-source.js";

/** What one named context is. */
export type NamedContextSpec =
  /** a directory (with its own .dockerignore) */
  | { kind: "local"; dir: string }
  /** an image, from the store or its registry, for the build's platform (`docker-image://scratch`: empty) */
  | { kind: "image"; ref: string }
  /** an OCI image layout directory; the image named `tag` in its index.json (default: latest, or its one image), or `digest` */
  | { kind: "oci-layout"; path: string; tag?: string; digest?: Digest }
  /** a git repository (`https://…/repo.git#ref:dir`, `git@host:repo`, `git://…`) */
  | { kind: "git"; url: string }
  /** a file downloaded over HTTP(S) (BuildKit's llb.HTTP: the file itself, not unpacked) */
  | { kind: "http"; url: string };

/** A bad `--build-context` value or name, worded as buildx words it. */
export class BuildContextError extends Error {
  override readonly name = "BuildContextError";
}

/**
 * The key a name is looked up by, as buildx stores it and BuildKit looks it up: the familiar
 * form of the normalised reference without `:latest` (`docker.io/library/busybox:latest` →
 * `busybox`, `busybox:1.36` stays, `localhost:5000/app`).
 */
export function contextKey(name: string): string {
  return familiarName(parseReference(name)).replace(/:latest$/, "");
}

/** buildx's ParseContextNames for one name: a reference (lowercase), or the error buildx gives. */
export function checkContextName(name: string): string {
  try {
    return contextKey(name);
  } catch (e) {
    throw new BuildContextError(`invalid context name ${name}: ${(e as Error).message}`);
  }
}

/**
 * Which context values BuildKit reads as git (dockerui's namedContext: `git@…` and `git://…`, and
 * an http(s) URL that gitutil.ParseGitRef takes, its path ending in `.git`); another http(s) URL is
 * a download.
 */
export function isGitContextUrl(v: string): boolean {
  return v.startsWith("git@") || v.startsWith("git://") || (/^https?:\/\//.test(v) && isGitSource(v));
}

/** A URL as events and errors may show it: no user or password (a token in a URL stays out of logs). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1");
}

const OCI_PREFIX = "oci-layout://";
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * A `--build-context` VALUE as buildx reads it: `docker-image://REF`, `oci-layout://PATH[:TAG][@DIGEST]`,
 * a git or http(s) URL, or else a local directory (relative to `cwd`). `target:STAGE` links bake
 * targets and is refused here (buildx build, with one target, fails on it too).
 */
export function parseContextValue(value: string, cwd: string): NamedContextSpec {
  if (value.startsWith("docker-image://")) {
    const ref = value.slice("docker-image://".length);
    if (ref !== "scratch") {
      try {
        parseReference(ref);
      } catch (e) {
        throw new BuildContextError(`docker-image://${ref}: ${(e as Error).message}`);
      }
    }
    return { kind: "image", ref };
  }
  if (value.startsWith("target:")) {
    throw new BuildContextError(`failed to find target ${value.slice("target:".length)} for context: target: contexts link the targets of one \`docker buildx bake\`; tsbuild builds one Dockerfile (build that target first and give it as docker-image:// or oci-layout://)`);
  }
  if (value.startsWith(OCI_PREFIX)) return parseOciLayout(value, cwd);
  if (isGitContextUrl(value)) return { kind: "git", url: value };
  if (/^https?:\/\//.test(value)) return { kind: "http", url: value };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw new BuildContextError(`unsupported context source ${value.slice(0, value.indexOf(":"))} in ${redactUrl(value)}: give a directory, docker-image://, oci-layout://, a git URL or an https:// URL`);
  return { kind: "local", dir: isAbsolute(value) ? value : resolve(cwd, value) };
}

/** buildx's ocilayout.Parse: `@DIGEST` last, then `:TAG`; neither means the tag `latest`. */
function parseOciLayout(value: string, cwd: string): NamedContextSpec {
  let path = value.slice(OCI_PREFIX.length);
  let digest: Digest | undefined;
  let tag: string | undefined;
  const at = path.lastIndexOf("@");
  if (at >= 0 && /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(path.slice(at + 1))) {
    const d = path.slice(at + 1);
    if (!isDigest(d)) throw new BuildContextError(`oci-layout reference "${value}": ${d} is not a sha256 digest`);
    digest = d;
    path = path.slice(0, at);
  }
  const colon = path.lastIndexOf(":");
  if (colon >= 0 && TAG.test(path.slice(colon + 1))) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
  }
  if (path === "") throw new BuildContextError(`oci-layout reference "${value}" names no directory`);
  return { kind: "oci-layout", path: isAbsolute(path) ? path : resolve(cwd, path), ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), ...(!tag && !digest ? { tag: "latest" } : {}) };
}

/**
 * The named contexts of a build, by lookup key. Values given as text are read with
 * parseContextValue (relative directories against `cwd`).
 */
export function namedContexts(given: Record<string, string | NamedContextSpec> | undefined, cwd: string): Map<string, { name: string; spec: NamedContextSpec }> {
  const out = new Map<string, { name: string; spec: NamedContextSpec }>();
  for (const [name, v] of Object.entries(given ?? {})) {
    const key = checkContextName(name);
    out.set(key, { name: key, spec: typeof v === "string" ? parseContextValue(v, cwd) : v });
  }
  return out;
}

/**
 * The named context a Dockerfile reference (a stage name, a FROM image, a --from) stands for, or
 * undefined. A reference that is no valid image name never names one.
 */
export function lookupContext<T>(contexts: ReadonlyMap<string, T>, ref: string): T | undefined {
  if (contexts.size === 0 || /^(scratch|context)$/i.test(ref)) return undefined;
  let key: string;
  try {
    key = contextKey(ref);
  } catch {
    return undefined;
  }
  return contexts.get(key);
}

/** A named context for events and errors: `[context NAME]`. */
export function describeContext(name: string, spec: NamedContextSpec): string {
  switch (spec.kind) {
    case "local": return `context ${name}=${spec.dir}`;
    case "image": return `context ${name}=docker-image://${spec.ref}`;
    case "oci-layout": return `context ${name}=oci-layout://${spec.path}${spec.tag ? `:${spec.tag}` : ""}${spec.digest ? `@${spec.digest}` : ""}`;
    case "git":
    case "http": return `context ${name}=${redactUrl(spec.url)}`;
  }
}

/**
 * The graph with the stages named contexts replace emptied (no instructions, nothing they depend
 * on), and what the target reaches computed again: a replaced stage's own base and sources are not
 * built, as in BuildKit.
 */
export function withReplacedStages<T>(graph: BuildGraph, contexts: ReadonlyMap<string, T>): BuildGraph {
  if (!graph.stages.some((s) => s.name !== undefined && lookupContext(contexts, s.name) !== undefined)) return graph;
  const stages: Stage[] = graph.stages.map((s) => (s.name !== undefined && lookupContext(contexts, s.name) !== undefined ? { ...s, instructions: [], dependsOn: [], imageRefs: [] } : s));
  return { ...graph, stages, reachable: reachableFrom(stages, graph.target) };
}
