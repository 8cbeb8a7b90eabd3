/**
 * OCI annotations on the built image, as buildx and BuildKit's image exporters take them:
 *
 * - `--annotation [TYPE[,TYPE…]:]KEY=VALUE` (buildx's flag), TYPE one of `manifest` (the default),
 *   `manifest-descriptor`, `index`, `index-descriptor`, each optionally qualified by a platform in
 *   brackets (`manifest[linux/amd64]:KEY=VALUE`); a platform on an index type is dropped, as buildx
 *   drops it;
 * - `-o type=image|oci,annotation[-TYPE][[PLATFORM]].KEY=VALUE` (the exporter options BuildKit's
 *   exptypes.ParseAnnotationKey reads).
 *
 * Where each lands (resolveAnnotations): `manifest` in the image manifest, `manifest-descriptor` in
 * the descriptor pointing at it (the OCI layout's index.json, the store's name, or the index's
 * entry), `index` and `index-descriptor` in the image index and the descriptor pointing at it:
 * only a multi-platform result (BUILDKIT_MULTI_PLATFORM=1) has an index; BuildKit refuses index
 * annotations on a single manifest, and so does tsbuild. A platform-qualified annotation applies to
 * that platform's manifest of an index; where BuildKit drops one silently (a single manifest, or a
 * platform the build does not make), tsbuild refuses it.
 */
import { formatPlatform, parsePlatform, type PlatformSpec } from "@tsbuild/dockerfile";
import { normalizePlatform } from "@tsbuild/oci";

export type AnnotationType = "manifest" | "manifest-descriptor" | "index" | "index-descriptor";

export interface Annotation {
  type: AnnotationType;
  /** `[os/arch[/variant]]`: only for that platform's manifest (manifest types only) */
  platform?: PlatformSpec;
  key: string;
  value: string;
}

export class AnnotationError extends Error {
  override readonly name = "AnnotationError";
}

const TYPES = new Set<string>(["manifest", "manifest-descriptor", "index", "index-descriptor"]);

/** The platform as containerd normalizes it (amd64/v1 and arm64/v8 lose their variant, arm is arm/v7): @tsbuild/oci's platform.ts. */
export { normalizePlatform };

function platformOf(text: string, what: string): PlatformSpec {
  const p = parsePlatform(text);
  if (!p) throw new AnnotationError(`${what}: invalid platform "${text}" (write os/arch[/variant], e.g. linux/amd64)`);
  return normalizePlatform(p);
}

function checkKey(key: string, what: string): void {
  if (key === "" || /\s/.test(key)) throw new AnnotationError(`${what}: an annotation key must be non-empty, without blanks`);
}

function make(type: AnnotationType, platform: PlatformSpec | undefined, key: string, value: string): Annotation {
  // an index has no platform: buildx writes index annotations without one
  const keep = platform && (type === "manifest" || type === "manifest-descriptor");
  return { type, ...(keep ? { platform } : {}), key, value };
}

/** `--annotation` (buildx's ParseAnnotations): one value may name several types, so give several annotations. */
export function parseAnnotationFlag(spec: string): Annotation[] {
  if (spec === "") return [];
  const what = `--annotation ${spec}`;
  const eq = spec.indexOf("=");
  if (eq === -1) throw new AnnotationError(`invalid annotation "${spec}", expected key=value`);
  const left = spec.slice(0, eq);
  const value = spec.slice(eq + 1);
  const colon = left.indexOf(":");
  if (colon === -1) {
    checkKey(left, what);
    return [make("manifest", undefined, left, value)];
  }
  const key = left.slice(colon + 1);
  checkKey(key, what);
  return left.slice(0, colon).split(",").map((typeAndPlatform) => {
    const m = /^([a-z-]+)(?:\[([A-Za-z0-9_/-]+)\])?$/.exec(typeAndPlatform);
    if (!m) throw new AnnotationError(`${what}: invalid annotation type "${typeAndPlatform}", expected type and optional platform in square brackets`);
    const type = m[1] as string;
    if (!TYPES.has(type)) throw new AnnotationError(`${what}: unknown annotation type "${type}" (manifest, manifest-descriptor, index, index-descriptor)`);
    return make(type as AnnotationType, m[2] !== undefined ? platformOf(m[2], what) : undefined, key, value);
  });
}

/** An exporter option `annotation[-TYPE][[PLATFORM]].KEY` (exptypes.ParseAnnotationKey), or undefined for another option. */
export function parseAnnotationOption(option: string, value: string): Annotation | undefined {
  const m = /^annotation(?:-([a-z-]+))?(?:\[([A-Za-z0-9_/-]+)\])?\.(\S+)$/.exec(option);
  if (!m) {
    if (option.startsWith("annotation")) throw new AnnotationError(`-o ${option}=…: not an annotation option (write annotation[-TYPE][[os/arch]].KEY=VALUE)`);
    return undefined;
  }
  const type = m[1] ?? "manifest";
  if (!TYPES.has(type)) throw new AnnotationError(`-o ${option}=…: unrecognized annotation type ${type}`);
  return make(type as AnnotationType, m[2] !== undefined ? platformOf(m[2], `-o ${option}`) : undefined, m[3] as string, value);
}

/** Where annotations land in one output: each map is empty when nothing goes there. */
export interface AnnotationSet {
  manifest: Record<string, string>;
  manifestDescriptor: Record<string, string>;
  index: Record<string, string>;
  indexDescriptor: Record<string, string>;
}

export const NO_ANNOTATIONS: AnnotationSet = Object.freeze({ manifest: {}, manifestDescriptor: {}, index: {}, indexDescriptor: {} }) as AnnotationSet;

export function isEmpty(set: AnnotationSet): boolean {
  return [set.manifest, set.manifestDescriptor, set.index, set.indexDescriptor].every((m) => Object.keys(m).length === 0);
}

function describe(a: Annotation): string {
  return `${a.type}${a.platform ? `[${formatPlatform(a.platform)}]` : ""}:${a.key}`;
}

/**
 * The annotations of one output of a build for `platform` (a single manifest, or an index of it
 * — and of the other platforms `built` — when `multiPlatform`), later ones winning over earlier ones, a platform's over unqualified ones
 * (BuildKit's AnnotationsGroup.Platform). Throws AnnotationError for what the result has no place for.
 */
export function resolveAnnotations(list: readonly Annotation[], platform: PlatformSpec, multiPlatform: boolean, built: readonly PlatformSpec[] = [platform]): AnnotationSet {
  const set: AnnotationSet = { manifest: {}, manifestDescriptor: {}, index: {}, indexDescriptor: {} };
  const mine = formatPlatform(normalizePlatform(platform));
  const all = built.map((p) => formatPlatform(normalizePlatform(p)));
  const qualified: Annotation[] = [];
  for (const a of list) {
    if ((a.type === "index" || a.type === "index-descriptor") && !multiPlatform) {
      throw new AnnotationError(`annotation ${describe(a)}: index annotations not supported for single platform export (the result is one image manifest; --build-arg BUILDKIT_MULTI_PLATFORM=1 makes it an index)`);
    }
    if (a.platform) {
      const theirs = formatPlatform(a.platform);
      if (!multiPlatform) {
        throw new AnnotationError(`annotation ${describe(a)}: a platform applies to the manifests of an index, and the result is one image manifest (leave the platform out, or add --build-arg BUILDKIT_MULTI_PLATFORM=1)`);
      }
      if (!all.includes(theirs)) throw new AnnotationError(`annotation ${describe(a)}: invalid annotation: no platform ${theirs} found in source (this build makes ${all.join(", ")})`);
      if (theirs !== mine) continue; // another platform's manifest
      qualified.push(a);
      continue;
    }
    put(set, a);
  }
  for (const a of qualified) put(set, a);
  return set;
}

function put(set: AnnotationSet, a: Annotation): void {
  const target = a.type === "manifest" ? set.manifest : a.type === "manifest-descriptor" ? set.manifestDescriptor : a.type === "index" ? set.index : set.indexDescriptor;
  target[a.key] = a.value;
}
