/**
 * Verifies an image in the content store before it is given a name (load, pull): every blob it
 * needs is present with the size its descriptor gives (the content store only ever holds blobs whose
 * bytes match their digest), every index, manifest and config parses, a manifest has as many
 * layers as its config has diff ids, and each layer's diff id (the digest of its uncompressed tar,
 * what unpacking computes) is the one its config gives. Layers are streamed, never held in memory.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import type { ContentStore } from "./content-store.js";
import type { Digest } from "./digest.js";
import { CorruptImageError } from "./errors.js";
import { decompressStream, sniffCompression } from "./layer/compression.js";
import { isIndexMediaType } from "./media-types.js";
import type { Descriptor, ImageConfig, ImageManifest } from "./types/image.js";
import { looksLikeIndex, parseConfig, parseIndex, parseManifest } from "./validate.js";

/** What an error says to do, and what it names the image. */
export interface VerifyContext {
  /** "image app:1 of the archive", "image registry.example/app:1" */
  of: string;
  /** "nothing was loaded (get the archive again from a source you trust)" */
  remedy: string;
}

const MAX_DEPTH = 4;
/** the largest index, manifest or config read into memory (as the archive reader's limit) */
export const MAX_JSON_BLOB = 16 << 20;

/** Verifies the image (an index or a manifest) `target` names, and everything under it. */
export async function verifyImage(store: ContentStore, target: Descriptor, ctx: VerifyContext): Promise<void> {
  await verifyDescriptor(store, target, ctx, 0);
}

async function verifyDescriptor(store: ContentStore, d: Descriptor, ctx: VerifyContext, depth: number): Promise<void> {
  const bytes = await presentBytes(store, d, "manifest", ctx);
  if (isIndexMediaType(d.mediaType) || parsed(() => looksLikeIndex(bytes), `manifest ${d.digest}`, ctx)) {
    if (depth >= MAX_DEPTH) throw new CorruptImageError(ctx.of, `indexes nest deeper than ${MAX_DEPTH} at ${d.digest}`, ctx.remedy);
    const index = parsed(() => parseIndex(bytes), `index ${d.digest}`, ctx);
    if (index.manifests.length === 0) throw new CorruptImageError(ctx.of, `index ${d.digest} lists no image`, ctx.remedy);
    for (const m of index.manifests) await verifyDescriptor(store, m, ctx, depth + 1);
    return;
  }
  const manifest = parsed(() => parseManifest(bytes), `manifest ${d.digest}`, ctx);
  await verifyManifest(store, manifest, ctx);
}

/** Verifies a manifest's config and layers (the manifest itself may not be stored yet). */
export async function verifyManifest(store: ContentStore, manifest: ImageManifest, ctx: VerifyContext): Promise<ImageConfig> {
  const configBytes = await presentBytes(store, manifest.config, "config", ctx);
  const config = parsed(() => parseConfig(configBytes), `config ${manifest.config.digest}`, ctx);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new CorruptImageError(ctx.of, `its manifest has ${manifest.layers.length} layers but its config ${diffIds.length} diff ids`, ctx.remedy);
  }
  for (let i = 0; i < manifest.layers.length; i++) {
    const layer = manifest.layers[i] as Descriptor;
    await present(store, layer, "layer", ctx);
    const actual = await layerDiffId(store, layer.digest, diffIds[i] as Digest, ctx);
    if (actual !== diffIds[i]) throw new CorruptImageError(ctx.of, `layer ${layer.digest} has diff id ${actual}, but its config says ${diffIds[i]}`, ctx.remedy);
  }
  return config;
}

/**
 * The diff id of a stored layer blob: its own digest when it is an uncompressed tar (checked by its
 * first bytes), else the digest of its decompressed bytes, streamed.
 */
export async function layerDiffId(store: ContentStore, digest: Digest, expected: Digest | undefined, ctx: VerifyContext): Promise<Digest> {
  if (digest === expected && (await uncompressed(store, digest))) return digest;
  const h = createHash("sha256");
  try {
    for await (const chunk of await decompressStream(store.reader(digest))) h.update(chunk as Buffer);
  } catch (e) {
    throw new CorruptImageError(ctx.of, `layer ${digest} does not decompress (${(e as Error).message})`, ctx.remedy);
  }
  return `sha256:${h.digest("hex")}`;
}

async function uncompressed(store: ContentStore, digest: Digest): Promise<boolean> {
  const fh = await open(store.blobPath(digest), "r");
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return sniffCompression(head.subarray(0, bytesRead)) === "none";
  } finally {
    await fh.close();
  }
}

async function present(store: ContentStore, d: Descriptor, what: string, ctx: VerifyContext): Promise<void> {
  const info = await store.info(d.digest);
  if (!info) throw new CorruptImageError(ctx.of, `its ${what} ${d.digest} is missing`, ctx.remedy);
  if (info.size !== d.size) throw new CorruptImageError(ctx.of, `its ${what} ${d.digest} has ${info.size} bytes, but its descriptor says ${d.size}`, ctx.remedy);
}

async function presentBytes(store: ContentStore, d: Descriptor, what: string, ctx: VerifyContext): Promise<Buffer> {
  await present(store, d, what, ctx);
  if (d.size > MAX_JSON_BLOB) throw new CorruptImageError(ctx.of, `its ${what} ${d.digest} has ${d.size} bytes (more than ${MAX_JSON_BLOB})`, ctx.remedy);
  return store.readBytes(d.digest);
}

function parsed<T>(parse: () => T, what: string, ctx: VerifyContext): T {
  try {
    return parse();
  } catch (e) {
    throw new CorruptImageError(ctx.of, `${what} does not parse (${(e as Error).message})`, ctx.remedy);
  }
}
