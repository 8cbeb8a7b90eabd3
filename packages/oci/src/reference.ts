/**
 * Image references normalised as docker does: `busybox` → `docker.io/library/busybox:latest`,
 * `host:port/repo:tag`, `repo@sha256:…`, `repo:tag@sha256:…`. Shown short (familiar) as docker
 * shows them: `busybox:latest`, `localhost:5000/app:1`.
 */
import { isDigest, type Digest } from "./digest.js";
import { InvalidContentError } from "./errors.js";

export const DEFAULT_DOMAIN = "docker.io";
export const DEFAULT_TAG = "latest";

export interface ImageReference {
  /** registry host, e.g. "docker.io", "localhost:5000" */
  domain: string;
  /** repository path, e.g. "library/busybox" */
  path: string;
  tag?: string;
  digest?: Digest;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

export class InvalidReferenceError extends InvalidContentError {
  constructor(ref: string, why: string) {
    super(`invalid image reference "${ref}": ${why}`);
  }
}

export function parseReference(ref: string): ImageReference {
  if (ref === "" || ref !== ref.trim()) throw new InvalidReferenceError(ref, "empty or surrounded by spaces");
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw new InvalidReferenceError(ref, "the part after @ must be sha256:<64 hex>");
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(ref, `bad tag "${tag}"`);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf("/");
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === "index.docker.io") domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = `library/${path}`;
  if (path === "" || !path.split("/").every((c) => PATH_COMPONENT.test(c))) {
    throw new InvalidReferenceError(ref, "repository names are lowercase letters, digits and . _ - separators");
  }
  if (!tag && !digest) tag = DEFAULT_TAG;
  return { domain, path, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The full normalised name: docker.io/library/busybox:latest. */
export function formatReference(r: ImageReference): string {
  return `${r.domain}/${r.path}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
}

export function normalizeName(ref: string): string {
  return formatReference(parseReference(ref));
}

/** The short name docker shows: busybox:latest, myorg/app:1, localhost:5000/app:1. */
export function familiarName(ref: string | ImageReference): string {
  const r = typeof ref === "string" ? parseReference(ref) : ref;
  let name = r.domain === DEFAULT_DOMAIN ? r.path.replace(/^library\//, "") : `${r.domain}/${r.path}`;
  if (r.tag) name += `:${r.tag}`;
  if (r.digest) name += `@${r.digest}`;
  return name;
}

/** The repository without tag or digest: docker.io/library/busybox. */
export function repositoryOf(r: ImageReference): string {
  return `${r.domain}/${r.path}`;
}
