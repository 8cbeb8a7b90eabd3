/**
 * Image archives: OCI image layout (directory or tar: oci-layout, index.json, blobs/) and
 * docker-archive (manifest.json, repositories, <config>.json, <layer>/layer.tar) as `docker save`
 * writes it, readable by `docker load`, `podman load` and skopeo. Both read back into the store with
 * every blob verified against its digest.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ContentStore } from "./content-store.js";
import { digestHex, isDigest, type Digest } from "./digest.js";
import { InvalidContentError } from "./errors.js";
import { isIndexMediaType, layerCompression, MediaTypes } from "./media-types.js";
import { familiarName, parseReference } from "./reference.js";
import type { Descriptor, ImageIndex, ImageManifest } from "./types/image.js";
import { parseConfig, parseIndex, parseManifest, looksLikeIndex } from "./validate.js";
import { TarWriter } from "./tar-writer.js";
import { readTar } from "./layer/tar-reader.js";
import { decompressStream } from "./layer/compression.js";

export const CONTAINERD_NAME_ANNOTATION = "io.containerd.image.name";
export const OCI_REF_NAME = "org.opencontainers.image.ref.name";

export interface NamedTarget {
  /** full or short name; undefined for an unnamed image */
  name?: string;
  target: Descriptor;
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

export async function writeOciLayout(store: ContentStore, images: NamedTarget[], dest: string, opts: { tar: boolean }): Promise<void> {
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
  const tmp = `${dest}.tmp-${process.pid}`;
  try {
    const w = new TarWriter(createWriteStream(tmp));
    await w.bytes("oci-layout", layout);
    await w.bytes("index.json", index);
    for (const d of blobs.keys()) {
      const info = await store.info(d);
      if (!info) throw new InvalidContentError(`blob ${d} is missing from the store (run tsbuild store check)`);
      await w.file(`blobs/sha256/${digestHex(d)}`, store.blobPath(d), info.size);
    }
    await w.finish();
    const { rename } = await import("node:fs/promises");
    await rename(tmp, dest);
  } catch (e) {
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

export async function writeDockerArchive(store: ContentStore, images: NamedTarget[], dest: string, scratch: string): Promise<void> {
  const tmp = `${dest}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
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
    const { rename } = await import("node:fs/promises");
    await rename(tmp, dest);
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Reads an OCI layout (tar or directory) or a docker-archive into the store. */
export async function readArchive(store: ContentStore, path: string): Promise<NamedTarget[]> {
  const st = await stat(path);
  const files = new Map<string, Buffer>(); // small JSON members
  const ingested = new Map<string, { digest: Digest; size: number }>(); // member path → blob
  const isJsonName = (n: string) => n === "index.json" || n === "oci-layout" || n === "manifest.json" || n === "repositories" || /^[a-f0-9]{64}\.json$/.test(n);
  if (st.isDirectory()) {
    for (const n of ["index.json", "oci-layout", "manifest.json", "repositories"]) {
      const b = await readFile(join(path, n)).catch(() => undefined);
      if (b) files.set(n, b);
    }
    for (const n of await readdir(join(path, "blobs", "sha256")).catch(() => [] as string[])) {
      const info = await store.ingest(createReadStream(join(path, "blobs", "sha256", n)), isDigest(`sha256:${n}`) ? { digest: `sha256:${n}` } : {});
      ingested.set(`blobs/sha256/${n}`, info);
    }
  } else {
    for await (const e of readTar(createReadStream(path))) {
      const name = e.header.name.replace(/^\.\//, "").replace(/\/$/, "");
      if (e.header.type !== "0" && e.header.type !== "7") continue;
      if (isJsonName(name) && e.header.size < 16 << 20) {
        const chunks: Buffer[] = [];
        for await (const c of e.body()) chunks.push(c);
        const buf = Buffer.concat(chunks);
        files.set(name, buf);
        if (/^[a-f0-9]{64}\.json$/.test(name)) ingested.set(name, await store.putBytes(buf));
        continue;
      }
      const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
      const expected = m ? { digest: `sha256:${m[1]}` as Digest } : {};
      ingested.set(name, await store.ingest(e.body(), expected));
    }
  }
  if (files.has("index.json")) {
    const index = parseIndex(files.get("index.json") as Buffer);
    for (const d of index.manifests) {
      if (!(await store.has(d.digest))) throw new InvalidContentError(`archive index refers to ${d.digest}, which the archive does not hold`);
    }
    return index.manifests.map((d) => {
      const full = d.annotations?.[CONTAINERD_NAME_ANNOTATION];
      const tag = d.annotations?.[OCI_REF_NAME];
      let name: string | undefined = full;
      if (!name && tag && /[/:]/.test(tag)) name = tag;
      const { annotations, ...rest } = d;
      const other = Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k !== CONTAINERD_NAME_ANNOTATION && k !== OCI_REF_NAME));
      return { ...(name ? { name } : {}), target: Object.keys(other).length ? { ...rest, annotations: other } : rest };
    });
  }
  if (files.has("manifest.json")) {
    const list = JSON.parse((files.get("manifest.json") as Buffer).toString("utf8")) as { Config: string; RepoTags?: string[] | null; Layers: string[] }[];
    const out: NamedTarget[] = [];
    for (const entry of list) {
      const cfg = ingested.get(entry.Config);
      if (!cfg) throw new InvalidContentError(`docker-archive: ${entry.Config} is missing`);
      const config = parseConfig(await store.readBytes(cfg.digest));
      const layers: Descriptor[] = entry.Layers.map((l) => {
        const b = ingested.get(l);
        if (!b) throw new InvalidContentError(`docker-archive: layer ${l} is missing`);
        // a layer.tar is usually the uncompressed layer (digest = diff id); docker also accepts gzip ones
        return { mediaType: MediaTypes.DOCKER_LAYER_TAR, digest: b.digest, size: b.size };
      });
      const man = {
        schemaVersion: 2 as const,
        mediaType: MediaTypes.DOCKER_MANIFEST,
        config: { mediaType: MediaTypes.DOCKER_CONFIG, digest: cfg.digest, size: cfg.size },
        layers,
      };
      const bytes = JSON.stringify(man);
      const info = await store.putBytes(bytes);
      const target: Descriptor = { mediaType: MediaTypes.DOCKER_MANIFEST, digest: info.digest, size: info.size };
      const tags = entry.RepoTags ?? [];
      if (tags.length === 0) out.push({ target });
      for (const t of tags) out.push({ name: t, target });
    }
    return out;
  }
  throw new InvalidContentError(`${path} is neither an OCI image layout nor a docker-archive (no index.json or manifest.json)`);
}

