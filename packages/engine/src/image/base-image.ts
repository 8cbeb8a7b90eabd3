/**
 * FROM: an image from the local store first, then from its registry; its layers unpacked once
 * into snapshots named by chain id; `scratch`; or an earlier stage's result.
 */
import { InvalidContentError, normalizeName, onlyPlatform, resolveImage, type Descriptor, type Digest, type ImageConfig, type ResolvedImage, type StoredLayer } from "@tsbuild/oci";
import { unpackLayer, type LayerSource } from "@tsbuild/snapshot";
import { formatPlatform, type PlatformSpec } from "@tsbuild/dockerfile";
import type { SolverEnv } from "../solver/state.js";
import { chainName } from "../step/snapshot-chain.js";
import { holdSnapshots, type GuardEnv } from "../step/store-guard.js";

export interface BaseImage {
  config: ImageConfig;
  layers: StoredLayer[];
  snapshot: string | undefined;
  manifest: Descriptor;
  /** the image id: what the image is (its config names its layers by diff id), whatever manifest carries it */
  configDigest: string;
}

/** Layers being unpacked in this process, by store and snapshot name: two stages (or platforms) needing one wait for one unpack. */
const unpacking = new Map<string, Promise<void>>();

/** Unpacks `source` into the committed snapshot `name` on `parent` unless it exists, once however many ask at the same time. */
export async function unpackOnce(env: Pick<SolverEnv, "snapshotter" | "store">, name: string, parent: string | undefined, source: LayerSource): Promise<void> {
  if (await env.snapshotter.exists(name)) return;
  const id = `${env.store.root}\u0000${name}`;
  let p = unpacking.get(id);
  if (!p) {
    p = unpackLayer(env.snapshotter, name, parent, source).then(() => undefined).finally(() => unpacking.delete(id));
    unpacking.set(id, p);
  }
  await p;
}

/** What to do when a base image's layer is missing or is not the one its config names. */
export const IMAGE_REMEDY = "pull or load the image again";

/**
 * Makes sure every layer of an image is a snapshot; returns the top snapshot name. A snapshot is
 * committed under its chain name only after its diff id matched the config's (unpack.ts).
 * @param of what the image is, for errors: "image docker.io/library/alpine:3"
 */
export async function unpackImage(env: Pick<SolverEnv, "snapshotter" | "store"> & GuardEnv, img: ResolvedImage, of: string): Promise<string | undefined> {
  if (img.config.rootfs.diff_ids.length !== img.manifest.layers.length) {
    throw new InvalidContentError(`${of} is corrupt: its manifest has ${img.manifest.layers.length} layers but its config ${img.config.rootfs.diff_ids.length} diff ids; ${IMAGE_REMEDY}`);
  }
  const names: string[] = [];
  for (const diffId of img.config.rootfs.diff_ids.slice(0, img.manifest.layers.length)) names.push(chainName(names.at(-1), diffId));
  await holdSnapshots(env, names);
  let parent: string | undefined;
  for (let i = 0; i < img.manifest.layers.length; i++) {
    const layer = img.manifest.layers[i] as Descriptor;
    const diffId = img.config.rootfs.diff_ids[i] as Digest;
    const name = names[i] as string;
    await unpackOnce(env, name, parent, { digest: layer.digest, diffId, of, remedy: IMAGE_REMEDY, open: () => env.store.content.reader(layer.digest) });
    parent = name;
  }
  return parent;
}

/**
 * One registry resolution per name, platform and build (--pull asks once, however many stages and
 * target platforms use the image; `env.pulls` is shared by the build's platforms).
 */
function pullOnce(env: SolverEnv, ref: string, platform: PlatformSpec): Promise<Descriptor> {
  const mine = env.pulls;
  const name = normalizeName(ref);
  const id = `${name} ${formatPlatform(platform)}`;
  let p = mine.get(id);
  if (!p) {
    const spec = { os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) };
    // the registry client is loaded when used: a build from the store alone never pays for it
    p = import("@tsbuild/registry").then(({ pull }) => pull(env.store, ref, { ...env.registry, platform: spec })).then((r) => {
      env.emit({ type: "warning", message: r.downloaded ? `pulled ${name} (${r.downloaded} blobs)` : `${name} is up to date` });
      return r.manifest;
    });
    mine.set(id, p);
  }
  return p;
}

/**
 * Whether an image's config serves `want`, as containerd's platforms.Only reads it (oci's
 * platform.ts: arm64/v8 is arm64, an arm64 build takes an arm/v7 image, amd64 a 386 one). A config
 * that names no platform at all matches anything (it says nothing to go by).
 */
export function configMatchesPlatform(config: ImageConfig, want: PlatformSpec): boolean {
  if (!config.os && !config.architecture) return true;
  return onlyPlatform(want).match({ os: config.os ?? "", architecture: config.architecture ?? "", ...(config.variant ? { variant: config.variant } : {}) });
}

/** The store's image under `ref` for `platform`, or why there is none to use. */
async function storedImage(env: SolverEnv, ref: string, platform: PlatformSpec): Promise<ResolvedImage | { other?: string }> {
  const target = (await env.store.images.get(ref).catch(() => undefined))?.target;
  if (!target) return {};
  let img: ResolvedImage;
  try {
    img = await resolveImage(env.store.content, target, platform);
  } catch (e) {
    // an index in the store without this platform: the registry may have it
    if (e instanceof InvalidContentError && /^no manifest for/.test(e.message)) return { other: "an index without it" };
    throw e;
  }
  // the name in the store is one platform's manifest (what the last pull or build wrote): another
  // platform's is not this image, however the name matches
  if (!configMatchesPlatform(img.config, platform)) return { other: formatPlatform(img.config) };
  return img;
}

/**
 * The store's image first (for the stage's platform: a name the store holds for another platform is
 * pulled for this one); the registry when it is missing, or always with --pull (a changed digest then
 * changes the stage's key, so every step after it misses).
 */
export async function resolveBase(env: SolverEnv, ref: string, platform: PlatformSpec): Promise<BaseImage> {
  const stored = env.pull ? {} : await storedImage(env, ref, platform);
  let img: ResolvedImage;
  if ("manifest" in stored) img = stored;
  else {
    let target: Descriptor;
    try {
      target = await pullOnce(env, ref, platform);
    } catch (e) {
      if (stored.other === undefined) throw e;
      throw new PlatformMismatchError(
        `image ${normalizeName(ref)} in the store is ${stored.other}, not ${formatPlatform(platform)}, and pulling it for ${formatPlatform(platform)} failed: ${(e as Error).message}; ` +
        `pull or load the image for ${formatPlatform(platform)} (tsbuild pull --platform ${formatPlatform(platform)} ${ref}), or build for the image's platform`,
      );
    }
    img = await resolveImage(env.store.content, target, platform);
  }
  const snapshot = await unpackImage(env, img, `image ${normalizeName(ref)}`);
  return {
    config: img.config,
    layers: img.manifest.layers.map((d, i) => ({ descriptor: d, diffId: img.config.rootfs.diff_ids[i]! })),
    snapshot,
    manifest: img.manifestDescriptor,
    configDigest: img.manifest.config.digest,
  };
}

/** A base image the store holds only for another platform, and no registry gives for this one. */
export class PlatformMismatchError extends Error {
  override readonly name = "PlatformMismatchError";
}
