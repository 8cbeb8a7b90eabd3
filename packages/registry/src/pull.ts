/**
 * Pull: tag or digest → manifest (through an index, for the platform asked) → config and layers,
 * downloaded concurrently and streamed into the content store with digest verification. A dropped
 * connection resumes with a Range request (or restarts when the server ignores it); a blob whose
 * digest does not match is never stored, and the image is named only once its layers matched its
 * config's diff ids. Pulling an image whose blobs are all in the store costs one
 * manifest request.
 */
import {
  isIndexMediaType, MediaTypes, parseIndex, parseManifest, parseReference, sha256Digest, repositoryOf, verifyImage,
  onlyPlatform, type ContentWriter, type Descriptor, type Digest, type Platform, type Store,
} from "@tsbuild/oci";
import { RegistryClient, type ClientOptions } from "./client.js";
import { RegistryError, UnsupportedMediaTypeError } from "./errors.js";
import { checkBlobMediaTypes, checkManifestMediaType, manifestJson } from "./media-support.js";
import { BlobLocations } from "./locations.js";
import { formatPlatform, hostPlatform } from "./platform.js";

/** What a pull of a corrupt image says to do. */
const PULL_REMEDY = "the registry serves a corrupt image and nothing was named (push the image again, or pull it from another source)";

export const MANIFEST_ACCEPT = [
  MediaTypes.OCI_INDEX, MediaTypes.DOCKER_MANIFEST_LIST, MediaTypes.OCI_MANIFEST, MediaTypes.DOCKER_MANIFEST,
].join(", ");

export interface PullOptions extends ClientOptions {
  platform?: Platform;
  /** concurrent blob downloads (default 4) */
  concurrency?: number;
  /** called as blobs arrive */
  onBlob?: (d: Descriptor, cached: boolean) => void;
}

export interface PullResult {
  /** full normalised name */
  name: string;
  /** the platform manifest (what the name points to in the store) */
  manifest: Descriptor;
  /** the index the manifest came from, if any */
  index?: Descriptor;
  /** blobs downloaded (0 when everything was in the store) */
  downloaded: number;
  /** HTTP requests made */
  requests: number;
}

async function limit<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  const workers = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await fn(items[i++] as T);
  });
  await Promise.all(workers);
}

export class Puller {
  requests = 0;
  constructor(private readonly store: Store, private readonly client: RegistryClient, private readonly repo: string) {}

  private get scope(): string {
    return `repository:${this.repo}:pull`;
  }

  async manifestBytes(reference: string): Promise<{ bytes: Buffer; mediaType: string; digest: Digest }> {
    this.requests++;
    const res = await this.client.send("GET", `/v2/${this.repo}/manifests/${reference}`, { scope: this.scope, headers: { accept: MANIFEST_ACCEPT } });
    await this.client.expect(res, [200], `manifest ${this.repo}:${reference}`);
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const digest = sha256Digest(bytes);
    if (reference.startsWith("sha256:") && reference !== digest) {
      throw new RegistryError(`${this.client.domain}: manifest ${reference} has digest ${digest}: the registry returned other content; nothing was stored`);
    }
    const ct = String(res.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
    let mediaType = ct;
    const where = `${this.client.domain}: manifest ${this.repo}:${reference}`;
    const parsed = manifestJson(bytes, where);
    if (typeof parsed.mediaType === "string" && parsed.mediaType) mediaType = parsed.mediaType;
    else if (parsed.schemaVersion === 2 && (!mediaType || mediaType === "application/json")) mediaType = parsed.manifests ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST;
    checkManifestMediaType(mediaType, parsed, where);
    return { bytes, mediaType, digest };
  }

  /** Downloads one blob into the store, resuming with Range after a dropped connection. */
  async blob(d: Descriptor): Promise<boolean> {
    if (await this.store.content.has(d.digest)) return false;
    let writer: ContentWriter = await this.store.content.writer(`pull-${d.digest.slice(7, 19)}`, { digest: d.digest, size: d.size });
    let failures = 0;
    try {
      for (;;) {
        const offset = writer.offset;
        this.requests++;
        const res = await this.client.send("GET", `/v2/${this.repo}/blobs/${d.digest}`, {
          scope: this.scope,
          headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
        });
        await this.client.expect(res, [200, 206], `blob ${d.digest} of ${this.repo}`);
        if (offset > 0 && res.status === 200) {
          // the server ignored Range: start again
          await writer.abort();
          writer = await this.store.content.writer(`pull-${d.digest.slice(7, 19)}`, { digest: d.digest, size: d.size });
        }
        try {
          for await (const chunk of res.body) await writer.write(chunk as Buffer);
          await writer.commit({ digest: d.digest, size: d.size });
          return true;
        } catch (e) {
          const msg = (e as Error).message ?? "";
          const dropped = /terminated|socket|ECONNRESET|other side closed|aborted|timeout/i.test(msg) || (e as { code?: string }).code?.startsWith("UND_ERR");
          if (!dropped || ++failures > 5) throw e;
          res.body.destroy();
        }
      }
    } catch (e) {
      await writer.abort();
      throw e;
    }
  }
}

export async function pull(store: Store, ref: string, opts: PullOptions = {}): Promise<PullResult> {
  const r = parseReference(ref);
  const client = new RegistryClient(r.domain, opts);
  const puller = new Puller(store, client, r.path);
  const want = opts.platform ?? hostPlatform();
  try {
    const top = await puller.manifestBytes(r.digest ?? r.tag ?? "latest");
    // manifests are checked before they are stored (the index after the manifest it leads to):
    // an unsupported image leaves nothing behind
    if (!isIndexMediaType(top.mediaType)) checkBlobMediaTypes(parseManifest(top.bytes), `${ref}`);
    let manifestDesc: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
    let index: Descriptor | undefined;
    let manifestBytes = top.bytes;
    if (isIndexMediaType(top.mediaType)) {
      index = manifestDesc;
      const idx = parseIndex(top.bytes);
      // the best entry for the platform, as containerd's platforms.Only orders them (arm64 before arm/v8, amd64 before 386)
      const pick = onlyPlatform(want).best(idx.manifests);
      if (!pick) {
        throw new RegistryError(`${ref} has no image for ${formatPlatform(want)} (it has ${idx.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : "?")).join(", ")})`);
      }
      manifestDesc = { mediaType: pick.mediaType, digest: pick.digest, size: pick.size, ...(pick.platform ? { platform: pick.platform } : {}) };
      if (await store.content.has(pick.digest)) manifestBytes = await store.content.readBytes(pick.digest);
      else {
        const m = await puller.manifestBytes(pick.digest);
        if (isIndexMediaType(m.mediaType)) throw new UnsupportedMediaTypeError(`${ref}: the index entry for ${formatPlatform(want)} is itself an index (nested indexes are not supported)`, 415);
        checkBlobMediaTypes(parseManifest(m.bytes), `${ref} (${formatPlatform(want)})`);
        await store.content.putBytes(m.bytes, { digest: pick.digest });
        manifestBytes = m.bytes;
      }
    }
    await store.content.putBytes(top.bytes, { digest: top.digest });
    const manifest = parseManifest(manifestBytes);
    let downloaded = 0;
    const blobs = [manifest.config, ...manifest.layers];
    await limit(blobs, opts.concurrency ?? 4, async (b) => {
      const got = await puller.blob(b);
      if (got) downloaded++;
      opts.onBlob?.(b, !got);
    });
    const name = r.tag ? `${repositoryOf(r)}:${r.tag}` : `${repositoryOf(r)}@${r.digest}`;
    const { platform: _platform, ...target } = manifestDesc;
    // every blob was verified against its digest as it streamed in; the image as a whole (layers
    // against the config's diff ids) before it is named, unless the name already has it (verified then)
    if ((await store.images.get(name))?.target.digest !== target.digest) await verifyImage(store.content, target, { of: `image ${name}`, remedy: PULL_REMEDY });
    await store.images.put(name, target);
    await new BlobLocations(store.root).add(r.domain, r.path, blobs.map((b) => b.digest));
    return { name, manifest: target, ...(index ? { index } : {}), downloaded, requests: puller.requests };
  } finally {
    await client.close();
  }
}
