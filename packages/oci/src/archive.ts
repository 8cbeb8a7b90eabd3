/**
 * Image archives: OCI image layout (directory or tar: oci-layout, index.json, blobs/) and
 * docker-archive (manifest.json, repositories, <config>.json, <layer>/layer.tar) as `docker save`
 * writes it, readable by `docker load`, `podman load` and skopeo. A docker-archive of a multi-platform
 * image (an index) is written as Docker 25+'s `docker save` writes one: an OCI image layout holding
 * the whole index (what `tsbuild load`, docker's containerd image store, podman and skopeo read) with
 * a manifest.json beside it naming the host platform's image by its blobs (what docker's own image
 * store loads; an index without the host's platform has no manifest.json entry). Reading them back:
 * archive-reader.ts.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { copyFile, mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ContentStore } from "./content-store.js";
import { digestHex, type Digest } from "./digest.js";
import { ArchiveWriteError, InvalidContentError } from "./errors.js";
import { isIndexMediaType, layerCompression, MediaTypes } from "./media-types.js";
import { familiarName, parseReference } from "./reference.js";
import { formatPlatform, hostPlatform, onlyPlatform } from "./platform.js";
import type { Descriptor, ImageIndex, ImageManifest } from "./types/image.js";
import { parseConfig, parseIndex, parseManifest, looksLikeIndex } from "./validate.js";
import { TarWriter } from "./tar-writer.js";
import { tempBeside } from "./fs-atomic.js";
import { decompressStream } from "./layer/compression.js";

export const CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name";
export const OCI_REF_NAME = "org.opencontainers.image.ref.name";

export interface NamedTarget {
  /** full or short name; undefined for an unnamed image */
  name?: string;
  target: Descriptor;
}

/** A new temp file beside `dest` (renamed onto it when whole), opened before anything is written to it. */
async function createBeside(dest: string): Promise<{ tmp: string; out: WriteStream }> {
  const tmp = tempBeside(dest);
  try {
    const fh = await open(tmp, "wx", 0o644);
    return { tmp, out: fh.createWriteStream() };
  } catch (e) {
    throw new ArchiveWriteError(dest, (e as NodeJS.ErrnoException).code ?? (e as Error).message);
  }
}

/** Every blob a descriptor needs, parents first. */
async function collect(store: ContentStore, d: Descriptor, out: Map<Digest, Descriptor>): Promise<void> {
  if (out.has(d.digest)) return;
  out.set(d.digest, d);
  if (isIndexMediaType(d.mediaType)) {
    for (const m of parseIndex(await store.readBytes(d.digest)).manifests) await collect(store, m, out);
  } else if (d.mediaType === MediaTypes.OCI_MANIFEST || d.mediaType === MediaTypes.DOCKER_MANIFEST) {
    const man = parseManifest(await store.readBytes(d.digest));
    out.set(man.config.digest, man.config);
    for (const l of man.layers) out.set(l.digest, l);
  }
}

function layoutIndex(images: NamedTarget[]): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: MediaTypes.OCI_INDEX,
    manifests: images.map(({ name, target }) => {
      if (!name) return target;
      const ref = parseReference(name);
      return { ...target, annotations: { ...target.annotations, [CONTAINERD_NAME_ANNOTATION]: familiarName(ref).replace(/@.*/, ""), [OCI_REF_NAME]: ref.tag ?? "latest" } };
    }),
  };
}

export async function writeOciLayout(store: ContentStore, images: NamedTarget[], dest: string, opts: { tar: boolean; extra?: { name: string; bytes: string }[] }): Promise<void> {
  const blobs = new Map<Digest, Descriptor>();
  for (const i of images) await collect(store, i.target, blobs);
  const index = JSON.stringify(layoutIndex(images));
  const layout = JSON.stringify({ imageLayoutVersion: "1.0.0" });
  if (!opts.tar) {
    await mkdir(join(dest, "blobs", "sha256"), { recursive: true });
    for (const d of blobs.keys()) await copyFile(store.blobPath(d), join(dest, "blobs", "sha256", digestHex(d)));
    await writeFile(join(dest, "oci-layout"), layout);
    await writeFile(join(dest, "index.json"), index);
    return;
  }
  const { tmp, out } = await createBeside(dest);
  try {
    const w = new TarWriter(out);
    await w.bytes("oci-layout", layout);
    await w.bytes("index.json", index);
    for (const e of opts.extra ?? []) await w.bytes(e.name, e.bytes);
    for (const d of blobs.keys()) {
      const info = await store.info(d);
      if (!info) throw new InvalidContentError(`blob ${d} is missing from the store (run tsbuild store check)`);
      await w.file(`blobs/sha256/${digestHex(d)}`, store.blobPath(d), info.size);
    }
    await w.finish();
    await rename(tmp, dest);
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Resolves a target to its image manifest (first manifest of an index). */
async function imageManifest(store: ContentStore, d: Descriptor): Promise<ImageManifest> {
  let desc = d;
  for (let depth = 0; depth < 4; depth++) {
    const bytes = await store.readBytes(desc.digest);
    if (isIndexMediaType(desc.mediaType) || looksLikeIndex(bytes)) {
      const first = parseIndex(bytes).manifests[0];
      if (!first) throw new InvalidContentError(`index ${desc.digest} is empty`);
      desc = first;
      continue;
    }
    return parseManifest(bytes);
  }
  throw new InvalidContentError(`index nesting too deep at ${d.digest}`);
}

/** What a docker-archive of an index holds for docker's own image store: each index's image in manifest.json, or none. */
export interface DockerArchiveNote {
  name: string;
  /** the index's platforms */
  platforms: string[];
  /** the platform manifest.json names (the host's), or undefined when the index has none for it */
  loaded?: string;
}

/** The docker `manifest.json` entry of an image (blob paths, as Docker 25+ writes them in an OCI layout). */
async function layoutEntry(store: ContentStore, img: NamedTarget, man: ImageManifest): Promise<{ Config: string; RepoTags: string[] | null; Layers: string[] }> {
  const path = (d: Digest) => `blobs/sha256/${digestHex(d)}`;
  const tags = img.name ? [familiarName({ ...parseReference(img.name), digest: undefined } as ReturnType<typeof parseReference>)] : [];
  return { Config: path(man.config.digest), RepoTags: tags.length ? tags : null, Layers: man.layers.map((l) => path(l.digest)) };
}

/** A docker-archive holding an index: an OCI layout of everything, manifest.json naming each image's host platform image (see the top of this file). */
async function writeLayoutArchive(store: ContentStore, images: NamedTarget[], dest: string): Promise<DockerArchiveNote[]> {
  const host = onlyPlatform(hostPlatform());
  const entries = [];
  const notes: DockerArchiveNote[] = [];
  for (const img of images) {
    let d = img.target;
    if (isIndexMediaType(d.mediaType)) {
      const idx = parseIndex(await store.readBytes(d.digest));
      const pick = host.best(idx.manifests);
      notes.push({ name: img.name ?? d.digest, platforms: idx.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : "unknown")), ...(pick?.platform ? { loaded: formatPlatform(pick.platform) } : {}) });
      if (!pick) continue;
      d = pick;
    }
    if (isIndexMediaType(d.mediaType)) throw new InvalidContentError(`${img.name ?? img.target.digest}: nested indexes cannot be written as a docker-archive (use --format oci)`);
    entries.push(await layoutEntry(store, img, parseManifest(await store.readBytes(d.digest))));
  }
  await writeOciLayout(store, images, dest, { tar: true, extra: [{ name: "manifest.json", bytes: JSON.stringify(entries) }] });
  return notes;
}

/**
 * Writes `images` as a docker-archive; one that is an index (a multi-platform image) makes the whole
 * archive Docker 25+'s layout form (writeLayoutArchive). Returns, for each index, what docker's own
 * image store will load of it.
 */
export async function writeDockerArchive(store: ContentStore, images: NamedTarget[], dest: string, scratch: string): Promise<DockerArchiveNote[]> {
  for (const img of images) {
    if (isIndexMediaType(img.target.mediaType) || looksLikeIndex(await store.readBytes(img.target.digest))) return writeLayoutArchive(store, images, dest);
  }
  const { tmp, out } = await createBeside(dest);
  const w = new TarWriter(out);
  const manifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const written = new Set<string>();
  try {
    for (const img of images) {
      const man = await imageManifest(store, img.target);
      const configBytes = await store.readBytes(man.config.digest);
      const config = parseConfig(configBytes);
      const configName = `${digestHex(man.config.digest)}.json`;
      if (!written.has(configName)) {
        await w.bytes(configName, configBytes);
        written.add(configName);
      }
      const layers: string[] = [];
      for (let i = 0; i < man.layers.length; i++) {
        const l = man.layers[i] as Descriptor;
        const diffId = config.rootfs.diff_ids[i];
        if (!diffId) throw new InvalidContentError(`config of ${img.name ?? img.target.digest} has fewer diff_ids than layers`);
        const name = `${digestHex(diffId)}/layer.tar`;
        layers.push(name);
        if (written.has(name)) continue;
        written.add(name);
        if (layerCompression(l.mediaType) === "none") {
          await w.file(name, store.blobPath(l.digest), l.size);
        } else {
          // docker-archive layers are uncompressed tars: decompress to scratch first (the header needs the size)
          const plain = join(scratch, `layer-${digestHex(diffId)}.tar`);
          await pipeline(await decompressStream(store.reader(l.digest)), createWriteStream(plain));
          try {
            await w.file(name, plain, (await stat(plain)).size);
          } finally {
            await rm(plain, { force: true });
          }
        }
      }
      const tags: string[] = [];
      if (img.name) {
        const ref = parseReference(img.name);
        const short = familiarName({ ...ref, digest: undefined } as typeof ref);
        tags.push(short);
        const repo = short.slice(0, short.lastIndexOf(":"));
        const top = layers[layers.length - 1];
        if (top) (repositories[repo] ??= {})[ref.tag ?? "latest"] = top.slice(0, 64);
      }
      manifest.push({ Config: configName, RepoTags: tags.length ? tags : null, Layers: layers });
    }
    await w.bytes("manifest.json", JSON.stringify(manifest));
    await w.bytes("repositories", JSON.stringify(repositories));
    await w.finish();
    await rename(tmp, dest);
    return [];
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
}
