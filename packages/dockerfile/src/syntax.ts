/**
 * Which frontend a Dockerfile asks for, and whether tsbuild is it. BuildKit hands a Dockerfile whose
 * `# syntax=IMAGE` directive (or the `BUILDKIT_SYNTAX` build arg, which wins over it) names a
 * frontend image to that image; tsbuild has one frontend of its own, so:
 *
 * - `docker/dockerfile` in any of its published spellings (`1`, `1.N`, `1.N.P`, `-labs`, `latest`,
 *   `labs`, with `docker.io/` or `index.docker.io/`, and/or an `@sha256:` digest) is built by
 *   tsbuild; one newer than DOCKERFILE_SYNTAX_VERSION gets one warning naming both versions;
 * - `BUILDKIT_SYNTAX=dockerfile.v0` means BuildKit's built-in frontend: tsbuild's, the directive
 *   not looked at (as BuildKit documents it);
 * - any other image is refused with an error at the directive's line (or naming the build arg).
 */
import { findDirective } from "./directive-scan.js";
import { DockerfileError } from "./errors.js";

/**
 * The docker/dockerfile frontend version whose syntax tsbuild implements (major.minor): what
 * `# syntax=docker/dockerfile:1.N` may ask for without a warning. Raise it when tsbuild learns a
 * later version's instructions and flags.
 */
export const DOCKERFILE_SYNTAX_VERSION = "1.7";

export const SYNTAX_BUILD_ARG = "BUILDKIT_SYNTAX";

export interface FrontendChoice {
  /** where the choice came from: no directive, the `# syntax=` directive, or BUILDKIT_SYNTAX */
  from: "default" | "directive" | "build-arg";
  /** the image named (undefined for the default and for BUILDKIT_SYNTAX=dockerfile.v0) */
  image?: string;
  /** the version it asks for, when the tag names one (`1.9`, `1.7.1`) */
  version?: string;
  /** the directive's line */
  line?: number;
  warnings: string[];
}

const DOCKERFILE_REPO = "docker.io/docker/dockerfile";
/** docker/dockerfile's tags: 1, 1.N, 1.N.P, 1.N.P-rcK, each optionally -labs; latest; labs. */
const TAG = /^(\d+)(?:\.(\d+)(?:\.(\d+)(?:-rc\d+)?)?)?(-labs)?$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

interface ImageRef {
  /** the repository, normalized as docker names it (docker.io/…, library/ for one component) */
  repository: string;
  tag?: string;
  digest?: string;
}

/** A docker reference `[DOMAIN/]PATH[:TAG][@DIGEST]` split and normalized, or undefined when it is not one. */
function parseImageRef(ref: string): ImageRef | undefined {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return undefined;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) return undefined;
  }
  if (rest === "") return undefined;
  const parts = rest.split("/");
  let domain = "docker.io";
  const first = parts[0] as string;
  if (parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase())) {
    domain = first === "index.docker.io" ? "docker.io" : first;
    parts.shift();
  }
  if (parts.some((p) => !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(p))) return undefined;
  if (domain === "docker.io" && parts.length === 1) parts.unshift("library");
  return { repository: `${domain}/${parts.join("/")}`, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** "1.9" > "1.7"? (major.minor; a version with fewer parts is not newer) */
function newerThanKnown(major: number, minor: number | undefined): boolean {
  const [kMajor, kMinor] = DOCKERFILE_SYNTAX_VERSION.split(".").map(Number) as [number, number];
  if (major !== kMajor) return major > kMajor;
  return minor !== undefined && minor > kMinor;
}

type Checked = { ok: true; version?: string; newer: boolean } | { ok: false; why: string };

/** Whether `image` is a docker/dockerfile tsbuild builds, and the version it asks for. */
function checkImage(image: string): Checked {
  const ref = parseImageRef(image);
  if (!ref) return { ok: false, why: `"${image}" is not an image reference` };
  if (ref.repository !== DOCKERFILE_REPO) {
    return { ok: false, why: `frontend image ${image} is not supported: tsbuild runs no frontend image, it builds Dockerfiles itself (the syntax of docker/dockerfile:${DOCKERFILE_SYNTAX_VERSION})` };
  }
  const tag = ref.tag;
  if (tag === undefined || tag === "latest" || tag === "labs") return { ok: true, newer: false };
  const m = TAG.exec(tag);
  if (!m) return { ok: false, why: `docker/dockerfile:${tag} is not a tag of docker/dockerfile tsbuild knows (use 1, 1.N, 1.N.P, with -labs or not)` };
  const major = Number(m[1]);
  const minor = m[2] !== undefined ? Number(m[2]) : undefined;
  if (major !== 1) return { ok: false, why: `docker/dockerfile:${tag}: there is no Dockerfile syntax ${major}.x (tsbuild implements docker/dockerfile:${DOCKERFILE_SYNTAX_VERSION})` };
  const version = tag.replace(/-labs$/, "");
  return { ok: true, version, newer: newerThanKnown(major, minor) };
}

function newerWarning(file: string, where: string, image: string, version: string): string {
  return `${file}${where}: ${image} asks for Dockerfile syntax ${version}; tsbuild implements docker/dockerfile:${DOCKERFILE_SYNTAX_VERSION} and builds it with that (a later version's instructions and flags fail at their line)`;
}

/**
 * The frontend for `text` with these build args: tsbuild's, or a DockerfileError (at the
 * directive's line, or naming BUILDKIT_SYNTAX).
 */
export function chooseFrontend(text: string, buildArgs: ReadonlyMap<string, string>, file = "Dockerfile"): FrontendChoice {
  const arg = buildArgs.get(SYNTAX_BUILD_ARG);
  if (arg !== undefined) {
    const cmdline = arg.trim();
    if (cmdline === "") {
      throw new DockerfileError("frontend", `empty ${SYNTAX_BUILD_ARG} build arg`, file, undefined,
        `give an image, e.g. --build-arg ${SYNTAX_BUILD_ARG}=docker/dockerfile:1, or leave it out`);
    }
    const image = cmdline.split(" ")[0] as string;
    if (image === "dockerfile.v0") return { from: "build-arg", warnings: [] };
    const c = checkImage(image);
    if (!c.ok) throw new DockerfileError("frontend", `--build-arg ${SYNTAX_BUILD_ARG}=${arg}: ${c.why}`, file, undefined);
    return {
      from: "build-arg", image, ...(c.version ? { version: c.version } : {}),
      warnings: c.newer && c.version ? [newerWarning(file, ` (--build-arg ${SYNTAX_BUILD_ARG})`, image, c.version)] : [],
    };
  }
  const d = findDirective(text, "syntax", true);
  if (!d) return { from: "default", warnings: [] };
  const c = checkImage(d.value);
  if (!c.ok) {
    throw new DockerfileError("frontend", c.why, file, { line: d.line, column: 1 },
      `remove the ${d.form === "json" ? "\"syntax\" key" : `${d.form} syntax= line`} or name docker/dockerfile:1`);
  }
  return {
    from: "directive", image: d.value, ...(c.version ? { version: c.version } : {}), line: d.line,
    warnings: c.newer && c.version ? [newerWarning(file, `:${d.line}`, d.value, c.version)] : [],
  };
}
