/**
 * Reads an OCI image layout (directory or tar) or a docker-archive (`docker save`) into the store,
 * and verifies every image in it before returning a name for it: each blob is checked against its
 * digest as it streams into the content store (a blob that does not match is never stored), then
 * each image against its manifest and config (verify-image.ts: every blob present, as many layers
 * as diff ids, every layer's diff id the config's). Only then may the caller name the images; an
 * archive refused half-way leaves only verified, unnamed blobs, which prune collects. Layers are
 * streamed, never held in memory.
 */
import { constants, type Stats } from "node:fs";
import { lstat, open, readdir, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { CONTAINERD_NAME_ANNOTATION, OCI_REF_NAME, type NamedTarget } from "./archive.js";
import type { ContentStore } from "./content-store.js";
import { isDigest, type Digest } from "./digest.js";
import { CorruptImageError, InvalidContentError } from "./errors.js";
import { readTar } from "./layer/tar-reader.js";
import { MediaTypes } from "./media-types.js";
import type { Descriptor, ImageManifest } from "./types/image.js";
import { parseIndex } from "./validate.js";
import { MAX_JSON_BLOB, verifyImage, verifyManifest, type VerifyContext } from "./verify-image.js";

const REMEDY = "nothing was loaded (get the archive again from a source you trust)";

interface Members {
  /** small JSON members, by path */
  files: Map<string, Buffer>;
  /** member path → the blob it was stored as */
  blobs: Map<string, { digest: Digest; size: number }>;
}

const CONFIG_NAME = /^([a-f0-9]{64})\.json$/;
const BLOB_NAME = /^blobs\/sha256\/([a-f0-9]{64})$/;
const isJsonName = (n: string) => n === "index.json" || n === "oci-layout" || n === "manifest.json" || n === "repositories" || CONFIG_NAME.test(n);

/** Reads an OCI layout (tar or directory) or a docker-archive into the store; returns its images, verified, for the caller to name. */
export async function readArchive(store: ContentStore, path: string): Promise<NamedTarget[]> {
  const members = (await stat(path)).isDirectory() ? await readLayoutDir(store, path) : await readArchiveTar(store, path);
  if (members.files.has("index.json")) return ociImages(store, members);
  if (members.files.has("manifest.json")) return dockerImages(store, members);
  throw new InvalidContentError(`${path} is neither an OCI image layout nor a docker-archive (no index.json or manifest.json)`);
}

/** A regular file of the layout, never through a symbolic link (undefined when absent). */
async function openMember(dir: string, rel: string): Promise<{ fh: FileHandle; st: Stats } | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(join(dir, rel), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw new InvalidContentError(`${rel} in the image layout is a symbolic link: ${REMEDY}`);
    throw e;
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new InvalidContentError(`${rel} in the image layout is not a regular file: ${REMEDY}`);
  }
  return { fh, st };
}

async function realDir(dir: string, rel: string): Promise<boolean> {
  const st = await lstat(join(dir, rel)).catch(() => undefined);
  if (!st) return false;
  if (!st.isDirectory()) throw new InvalidContentError(`${rel} in the image layout is not a directory: ${REMEDY}`);
  return true;
}

async function readLayoutDir(store: ContentStore, dir: string): Promise<Members> {
  const files = new Map<string, Buffer>();
  const blobs = new Map<string, { digest: Digest; size: number }>();
  for (const n of ["index.json", "oci-layout", "manifest.json", "repositories"]) {
    const m = await openMember(dir, n);
    if (!m) continue;
    try {
      if (m.st.size > MAX_JSON_BLOB) throw new InvalidContentError(`${n} in the image layout is larger than ${MAX_JSON_BLOB} bytes: ${REMEDY}`);
      files.set(n, await m.fh.readFile());
    } finally {
      await m.fh.close();
    }
  }
  if (!(await realDir(dir, "blobs")) || !(await realDir(dir, "blobs/sha256"))) return { files, blobs };
  for (const n of (await readdir(join(dir, "blobs", "sha256"))).sort()) {
    const digest = `sha256:${n}`;
    if (!isDigest(digest)) continue; // no descriptor can name it
    const m = await openMember(dir, `blobs/sha256/${n}`);
    if (!m) continue;
    try {
      blobs.set(`blobs/sha256/${n}`, await store.ingest(m.fh.createReadStream({ autoClose: false }), { digest, size: m.st.size }));
    } finally {
      await m.fh.close();
    }
  }
  return { files, blobs };
}

async function readArchiveTar(store: ContentStore, path: string): Promise<Members> {
  const files = new Map<string, Buffer>();
  const blobs = new Map<string, { digest: Digest; size: number }>();
  const fh = await open(path, "r");
  try {
    for await (const e of readTar(fh.createReadStream({ autoClose: false }))) {
      const name = e.header.name.replace(/^\.\//, "").replace(/\/$/, "");
      if (e.header.type !== "0" && e.header.type !== "7") continue;
      if (isJsonName(name) && e.header.size <= MAX_JSON_BLOB) {
        const chunks: Buffer[] = [];
        for await (const c of e.body()) chunks.push(c);
        const buf = Buffer.concat(chunks);
        files.set(name, buf);
        // docker names a config by its digest: one that does not match is refused like any blob
        const config = CONFIG_NAME.exec(name);
        if (config) blobs.set(name, await store.putBytes(buf, { digest: `sha256:${config[1]}` }));
        continue;
      }
      const m = BLOB_NAME.exec(name);
      blobs.set(name, await store.ingest(e.body(), m ? { digest: `sha256:${m[1]}`, size: e.header.size } : { size: e.header.size }));
    }
  } finally {
    await fh.close();
  }
  return { files, blobs };
}

const archiveImage = (name: string | undefined, digest: string): VerifyContext => ({ of: `image ${name ?? digest} of the archive`, remedy: REMEDY });

async function ociImages(store: ContentStore, { files }: Members): Promise<NamedTarget[]> {
  let index;
  try {
    index = parseIndex(files.get("index.json") as Buffer);
  } catch (e) {
    throw new InvalidContentError(`index.json of the archive does not parse (${(e as Error).message}): ${REMEDY}`);
  }
  const out: NamedTarget[] = [];
  for (const d of index.manifests) {
    const full = d.annotations?.[CONTAINERD_NAME_ANNOTATION];
    const tag = d.annotations?.[OCI_REF_NAME];
    let name: string | undefined = full;
    if (!name && tag && /[/:]/.test(tag)) name = tag;
    const { annotations, ...rest } = d;
    const other = Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k !== CONTAINERD_NAME_ANNOTATION && k !== OCI_REF_NAME));
    out.push({ ...(name ? { name } : {}), target: Object.keys(other).length ? { ...rest, annotations: other } : rest });
  }
  for (const img of out) await verifyImage(store, img.target, archiveImage(img.name, img.target.digest));
  return out;
}

interface DockerEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function dockerManifestList(bytes: Buffer): DockerEntry[] {
  let list: unknown;
  try {
    list = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw new InvalidContentError(`manifest.json of the archive does not parse (${(e as Error).message}): ${REMEDY}`);
  }
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === "string");
  const ok = Array.isArray(list) && list.every((e: Partial<Record<keyof DockerEntry, unknown>> | null) =>
    typeof e === "object" && e !== null && typeof e.Config === "string" && strings(e.Layers) && (e.RepoTags === undefined || e.RepoTags === null || strings(e.RepoTags)));
  if (!ok) throw new InvalidContentError(`manifest.json of the archive is not a list of {Config, RepoTags, Layers}: ${REMEDY}`);
  return list as DockerEntry[];
}

async function dockerImages(store: ContentStore, { files, blobs }: Members): Promise<NamedTarget[]> {
  const out: NamedTarget[] = [];
  for (const entry of dockerManifestList(files.get("manifest.json") as Buffer)) {
    const tags = entry.RepoTags ?? [];
    const ctx = archiveImage(tags[0], entry.Config);
    const cfg = blobs.get(entry.Config);
    if (!cfg) throw new CorruptImageError(ctx.of, `its config ${entry.Config} is not in the archive`, REMEDY);
    const layers: Descriptor[] = entry.Layers.map((l) => {
      const b = blobs.get(l);
      if (!b) throw new CorruptImageError(ctx.of, `its layer ${l} is not in the archive`, REMEDY);
      // a layer.tar is usually the uncompressed layer (digest = diff id); docker also accepts gzip ones
      return { mediaType: MediaTypes.DOCKER_LAYER_TAR, digest: b.digest, size: b.size };
    });
    const man: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaTypes.DOCKER_MANIFEST,
      config: { mediaType: MediaTypes.DOCKER_CONFIG, digest: cfg.digest, size: cfg.size },
      layers,
    };
    await verifyManifest(store, man, ctx); // before the manifest is stored: a refused image adds no manifest
    const info = await store.putBytes(JSON.stringify(man));
    const target: Descriptor = { mediaType: MediaTypes.DOCKER_MANIFEST, digest: info.digest, size: info.size };
    if (tags.length === 0) out.push({ target });
    for (const t of tags) out.push({ name: t, target });
  }
  return out;
}
