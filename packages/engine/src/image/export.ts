/**
 * Exporters (CLI.md `--output`): into the local store (default; named by every -t, pushed with
 * push=true), an OCI layout (tar or directory), a docker-archive, the final root file system as a
 * directory (local) or a tar.
 */
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { applyLayer, compressImage, walkDirectory, writeDockerArchive, writeLayer, writeOciLayout, type Descriptor, type LayerCompression, type Store, type StoredLayer } from "@tsbuild/oci";
import type { ClientOptions } from "@tsbuild/registry";
import { parseSpecFields, SpecSyntaxError, type SpecField } from "@tsbuild/dockerfile";

export type OutputSpec =
  | { type: "image"; names?: string[]; push?: boolean }
  | { type: "oci"; dest: string; tar: boolean }
  | { type: "docker"; dest: string }
  | { type: "local"; dest: string }
  | { type: "tar"; dest: string };

export class OutputError extends Error {
  override readonly name = "OutputError";
}

/** The options each exporter takes; any other is an error, never ignored. */
const OUTPUT_KEYS: Record<string, string[]> = {
  image: ["type", "name", "push"], registry: ["type", "name", "push"], oci: ["type", "dest", "tar"], docker: ["type", "dest"], local: ["type", "dest"], tar: ["type", "dest"],
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
  const allowed = OUTPUT_KEYS[type];
  const unknown = allowed ? [...kv.keys()].find((k) => !allowed.includes(k)) : undefined;
  if (allowed && unknown !== undefined) throw new OutputError(`--output type=${type} does not take ${unknown}= (it takes ${allowed.map((k) => `${k}=`).join(", ")})`);
  const dest = kv.get("dest");
  const need = (): string => {
    if (!dest) throw new OutputError(`--output type=${type} needs dest=PATH`);
    return dest;
  };
  switch (type) {
    case "image":
    case "registry":
      return { type: "image", names: kv.get("name") ? (kv.get("name") as string).split(/[,;]/) : tags, push: type === "registry" || kv.get("push") === "true" };
    case "oci":
      return { type: "oci", dest: need(), tar: kv.get("tar") !== "false" };
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
    execFile("cp", ["-a", "--reflink=auto", "--", `${from}/.`, `${to}/`], (e, _out, err) => {
      if (e) reject(new OutputError(`cannot write the root file system into ${to}: ${String(err).trim() || e.message}`));
      else resolve();
    });
  });
}

async function rootfsInto(store: Store, layers: StoredLayer[], dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const l of layers) await applyLayer(store.content.reader(l.descriptor.digest), dir);
}

/**
 * @param compression of the layers where the image leaves the store (push, OCI layout); the store
 *   and docker archives keep them uncompressed
 */
export async function exportImage(
  store: Store, out: OutputSpec, manifest: Descriptor, layers: StoredLayer[], names: string[], scratch: string, registry: ClientOptions,
  compression: LayerCompression = "gzip",
): Promise<string> {
  const shipped = () => compressImage(store, manifest, compression);
  const named = (target: Descriptor) => (names.length ? names : [undefined]).map((name) => ({ ...(name ? { name } : {}), target }));
  switch (out.type) {
    case "image": {
      const targets = out.names ?? names;
      await store.images.putAll(targets.map((name) => ({ name, target: manifest }))); // every -t at once, or none
      if (out.push) {
        if (targets.length === 0) throw new OutputError("push=true needs a name (-t NAME or name=NAME)");
        const target = await shipped();
        const { push } = await import("@tsbuild/registry"); // loaded when used
        for (const n of targets) await push(store, target, n, registry);
      }
      return targets.length ? `image ${targets.join(", ")}${out.push ? " (pushed)" : ""}` : `image ${manifest.digest}`;
    }
    case "oci": {
      const target = await shipped();
      await writeOciLayout(store.content, named(target), out.dest, { tar: out.tar });
      return `OCI layout ${out.dest}`;
    }
    case "docker":
      await writeDockerArchive(store.content, named(manifest), out.dest, scratch);
      return `docker archive ${out.dest}`;
    case "local": {
      // flattened apart, then merged in: the layers' whiteouts and opaque directories apply to the
      // image's own files only, never to what the destination held before (as BuildKit's local exporter)
      const dir = `${scratch}/rootfs-local`;
      await rootfsInto(store, layers, dir);
      try {
        await mkdir(out.dest, { recursive: true });
        await mergeTree(dir, out.dest);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return `root file system in ${out.dest}`;
    }
    case "tar": {
      const dir = `${scratch}/rootfs-export`;
      await rootfsInto(store, layers, dir);
      try {
        await writeLayer(walkDirectory(dir), createWriteStream(out.dest));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return `root file system tar ${out.dest}`;
    }
  }
}
