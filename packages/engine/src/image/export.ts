/**
 * Exporters (CLI.md `--output`): into the local store (default; named by every -t, pushed with
 * push=true), an OCI layout (tar or directory), a docker-archive, the final root file system as a
 * directory (local) or a tar. Annotations (annotations.ts) go where the output has a place for
 * them (image and oci); the others refuse them. A multi-platform result (BUILDKIT_MULTI_PLATFORM)
 * is an index for image and oci, a platform directory (`linux_amd64/`) for local and tar, and is
 * refused by docker, as BuildKit's exporters do.
 */
import { createWriteStream } from "node:fs";
import { chmod, mkdir, rm, utimes } from "node:fs/promises";
import { applyLayer, compressImage, walkDirectory, writeDockerArchive, writeLayer, writeOciLayout, toolPath, type Descriptor, type LayerCompression, type Store, type StoredLayer } from "@tsbuild/oci";
import type { ClientOptions } from "@tsbuild/registry";
import { formatPlatform, parseSpecFields, SpecSyntaxError, type PlatformSpec, type SpecField } from "@tsbuild/dockerfile";
import { AnnotationError, isEmpty, normalizePlatform, parseAnnotationOption, resolveAnnotations, type Annotation, type AnnotationSet } from "./annotations.js";
import { imageTarget, type BuiltImage, type PlatformImage } from "./image-target.js";

export type OutputSpec =
  | { type: "image"; names?: string[]; push?: boolean; annotations?: Annotation[] }
  | { type: "oci"; dest: string; tar: boolean; annotations?: Annotation[] }
  | { type: "docker"; dest: string }
  | { type: "local"; dest: string }
  | { type: "tar"; dest: string };

export class OutputError extends Error {
  override readonly name = "OutputError";
}

/** The options each exporter takes (besides annotation options, for image and oci); any other is an error, never ignored. */
const OUTPUT_KEYS: Record<string, string[]> = {
  image: ["type", "name", "push"], registry: ["type", "name", "push"], oci: ["type", "dest", "tar"], docker: ["type", "dest"], local: ["type", "dest"], tar: ["type", "dest"],
};
const ANNOTATED = new Set(["image", "registry", "oci"]);

/** Why an output type has no place for annotations. */
const NO_ANNOTATIONS_BECAUSE: Record<string, string> = {
  docker: "type=docker writes docker's archive format (manifest.json, no image manifest), which has no place for annotations; use -o type=oci",
  local: "type=local writes the root file system, not an image: it has no place for annotations",
  tar: "type=tar writes the root file system, not an image: it has no place for annotations",
};

/** Parses `type=oci,dest=out.tar[,tar=false]` and friends (fields quoted as buildx: parseSpecFields). */
export function parseOutput(spec: string, tags: string[]): OutputSpec {
  let fields: SpecField[];
  try {
    fields = parseSpecFields(spec);
  } catch (e) {
    if (e instanceof SpecSyntaxError) throw new OutputError(`--output ${spec}: ${e.message} (quote a whole field that holds a comma: "name=a,b")`);
    throw e;
  }
  // keys lowercased and trimmed as buildx does; a key alone means KEY=true; the last one wins
  const kv = new Map<string, string>();
  for (const f of fields) kv.set(f.key.trim().toLowerCase(), f.value === undefined ? "true" : f.value.trim());
  if (fields.length === 1 && fields[0]?.value === undefined) return { type: "local", dest: (fields[0] as SpecField).text.trim() };
  const type = kv.get("type") ?? "image";
  const annotations: Annotation[] = [];
  for (const [k, v] of kv) {
    if (!k.startsWith("annotation")) continue;
    if (!ANNOTATED.has(type)) throw new OutputError(`--output ${spec}: ${NO_ANNOTATIONS_BECAUSE[type] ?? `type=${type} takes no annotations`}`);
    try {
      const a = parseAnnotationOption(k, v);
      if (a) annotations.push(a);
    } catch (e) {
      if (e instanceof AnnotationError) throw new OutputError(`--output ${spec}: ${e.message}`);
      throw e;
    }
    kv.delete(k);
  }
  const allowed = OUTPUT_KEYS[type];
  const unknown = allowed ? [...kv.keys()].find((k) => !allowed.includes(k)) : undefined;
  if (allowed && unknown !== undefined) {
    const annotationKeys = ANNOTATED.has(type) ? ", annotation[-TYPE].KEY=" : "";
    throw new OutputError(`--output type=${type} does not take ${unknown}= (it takes ${allowed.map((k) => `${k}=`).join(", ")}${annotationKeys})`);
  }
  const withAnnotations = annotations.length ? { annotations } : {};
  const dest = kv.get("dest");
  const need = (): string => {
    if (!dest) throw new OutputError(`--output type=${type} needs dest=PATH`);
    return dest;
  };
  switch (type) {
    case "image":
    case "registry":
      return { type: "image", names: kv.get("name") ? (kv.get("name") as string).split(/[,;]/) : tags, push: type === "registry" || kv.get("push") === "true", ...withAnnotations };
    case "oci":
      return { type: "oci", dest: need(), tar: kv.get("tar") !== "false", ...withAnnotations };
    case "docker":
      return { type: "docker", dest: need() };
    case "local":
      return { type: "local", dest: need() };
    case "tar":
      return { type: "tar", dest: need() };
    default:
      throw new OutputError(`unknown --output type=${type} (image, oci, docker, local, tar)`);
  }
}

/** Copies the tree `from` into the directory `to`: entries replaced or added, everything else there kept (cp -a). */
async function mergeTree(from: string, to: string): Promise<void> {
  const { execFile } = await import("node:child_process");
  await new Promise<void>((resolve, reject) => {
    execFile(toolPath("cp"), ["-a", "--reflink=auto", "--", `${from}/.`, `${to}/`], (e, _out, err) => {
      if (e) reject(new OutputError(`cannot write the root file system into ${to}: ${String(err).trim() || e.message}`));
      else resolve();
    });
  });
}

async function rootfsInto(store: Store, layers: StoredLayer[], dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const l of layers) await applyLayer(store.content.reader(l.descriptor.digest), dir);
}

/** What the exporters take from the build: each platform's image and its layers. */
export interface ExportedImage extends BuiltImage {
  images: readonly (PlatformImage & { layers: StoredLayer[] })[];
  /** --annotation: given to every output (as buildx adds them to each) */
  annotations: readonly Annotation[];
  /** SOURCE_DATE_EPOCH, for the platform directory a multi-platform local/tar output makes */
  epoch?: number;
}

/** What checkOutput needs: the platforms to be built and whether the result is an index. */
export interface ExportPlan {
  annotations: readonly Annotation[];
  platforms: readonly PlatformSpec[];
  multiPlatform: boolean;
}

/** Each platform's annotations for an output (resolveAnnotations, knowing every platform built). */
function annotationsFor(out: OutputSpec, plan: ExportPlan): AnnotationSet[] {
  const all = [...plan.annotations, ...("annotations" in out ? (out.annotations ?? []) : [])];
  return plan.platforms.map((p) => resolveAnnotations(all, p, plan.multiPlatform, plan.platforms));
}

/**
 * Checks that `out` can carry what the build asks of it (annotations, a multi-platform result)
 * before anything is exported, so a refused output leaves no other output half written.
 */
export function checkOutput(out: OutputSpec, plan: ExportPlan): void {
  const all = [...plan.annotations, ...("annotations" in out ? (out.annotations ?? []) : [])];
  if (out.type === "docker" && plan.multiPlatform) {
    throw new OutputError(plan.platforms.length > 1
      ? "docker exporter does not currently support exporting manifest lists (several platforms make an index; use -o type=oci, or build one platform)"
      : "docker exporter does not currently support exporting manifest lists (BUILDKIT_MULTI_PLATFORM=1 makes an index; use -o type=oci)");
  }
  if (all.length === 0) return;
  if (out.type === "docker" || out.type === "local" || out.type === "tar") throw new OutputError(`--annotation: ${NO_ANNOTATIONS_BECAUSE[out.type]}`);
  try {
    annotationsFor(out, plan);
  } catch (e) {
    if (e instanceof AnnotationError) throw new OutputError(e.message);
    throw e;
  }
}

/** The directory a multi-platform local/tar output puts a platform's files in (BuildKit's: "/" → "_"). */
function platformDir(p: PlatformSpec): string {
  return formatPlatform(normalizePlatform(p)).replace(/\//g, "_");
}

/** The root file systems into `dir`; for a multi-platform result each into `dir/PLATFORM` (0755, the epoch's time if given). */
async function rootfsFor(store: Store, img: ExportedImage, dir: string): Promise<void> {
  if (!img.multiPlatform) return rootfsInto(store, (img.images[0] as ExportedImage["images"][number]).layers, dir);
  for (const one of img.images) {
    const sub = `${dir}/${platformDir(one.platform)}`;
    await rootfsInto(store, one.layers, sub);
    await chmod(sub, 0o755);
    if (img.epoch !== undefined) await utimes(sub, img.epoch, img.epoch);
  }
}

const planOf = (img: ExportedImage): ExportPlan => ({ annotations: img.annotations, platforms: img.images.map((i) => i.platform), multiPlatform: img.multiPlatform });

/**
 * @param compression of the layers where the image leaves the store (push, OCI layout); the store
 *   and docker archives keep them uncompressed
 */
export async function exportImage(
  store: Store, out: OutputSpec, img: ExportedImage, names: string[], scratch: string, registry: ClientOptions,
  compression: LayerCompression = "gzip",
): Promise<{ what: string; target?: Descriptor }> {
  const plan = planOf(img);
  checkOutput(out, plan);
  const annotations = annotationsFor(out, plan);
  const named = (target: Descriptor) => (names.length ? names : [undefined]).map((name) => ({ ...(name ? { name } : {}), target }));
  const built = img.images.map((i) => i.manifest);
  const plain = !img.multiPlatform && annotations.every(isEmpty);
  const compressed = () => Promise.all(built.map((m) => compressImage(store, m, compression)));
  const platforms = img.multiPlatform ? ` (${img.images.map((i) => formatPlatform(normalizePlatform(i.platform))).join(", ")})` : "";
  switch (out.type) {
    case "image": {
      const targets = out.names ?? names;
      const target = plain ? (built[0] as Descriptor) : await imageTarget(store, img, built, annotations, false);
      await store.images.putAll(targets.map((name) => ({ name, target }))); // every -t at once, or none
      if (out.push) {
        if (targets.length === 0) throw new OutputError("push=true needs a name (-t NAME or name=NAME)");
        const shipped = await imageTarget(store, img, await compressed(), annotations, false);
        const { push } = await import("@tsbuild/registry"); // loaded when used
        for (const n of targets) await push(store, shipped, n, registry);
      }
      return { what: `${targets.length ? `image ${targets.join(", ")}${out.push ? " (pushed)" : ""}` : `image ${target.digest}`}${platforms}`, target };
    }
    case "oci": {
      const target = await imageTarget(store, img, await compressed(), annotations, true);
      await writeOciLayout(store.content, named(target), out.dest, { tar: out.tar });
      return { what: `OCI layout ${out.dest}${platforms}`, target };
    }
    case "docker":
      await writeDockerArchive(store.content, named(built[0] as Descriptor), out.dest, scratch);
      return { what: `docker archive ${out.dest}` };
    case "local": {
      // flattened apart, then merged in: the layers' whiteouts and opaque directories apply to the
      // image's own files only, never to what the destination held before (as BuildKit's local exporter)
      const dir = `${scratch}/rootfs-local`;
      await rootfsFor(store, img, dir);
      try {
        await mkdir(out.dest, { recursive: true });
        await mergeTree(dir, out.dest);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return { what: `root file system in ${out.dest}${img.multiPlatform ? ` (${img.images.map((i) => platformDir(i.platform)).join(", ")})` : ""}` };
    }
    case "tar": {
      const dir = `${scratch}/rootfs-export`;
      await rootfsFor(store, img, dir);
      try {
        await writeLayer(walkDirectory(dir), createWriteStream(out.dest));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return { what: `root file system tar ${out.dest}` };
    }
  }
}
