/**
 * The named contexts of one build, resolved on first use (once per build each):
 * - a local directory is read like the main context, through its own `.dockerignore` (the one in
 *   that directory, as BuildKit's dockerui reads it), with its own stat index; what a COPY or bind
 *   selects from it is keyed by content (digest.ts);
 * - `docker-image://REF` is resolved as FROM resolves REF (the store, then its registry, for the
 *   build's platform), keyed by the image id; `docker-image://scratch` is empty;
 * - `oci-layout://PATH` is read into the store with verification (packages/oci readArchive: every
 *   blob against its digest, every layer against its diff id) and keyed by its manifest digest;
 * - git and http(s) contexts go through fetchRemoteContext (remote-context.ts).
 */
import { lstat, mkdir, open } from "node:fs/promises";
import { constants } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { InvalidContentError, readArchive, resolveImage, type Descriptor, type Digest, type Store } from "@tsbuild/oci";
import type { PlatformSpec } from "@tsbuild/dockerfile";
import { loadContext } from "./build-context.js";
import { ContextIndex } from "./digest.js";
import { contextIndexPath } from "./stat-index.js";
import type { ContextListings } from "./listing.js";
import type { ContextService } from "../solver/roles.js";
import { BuildContextError, describeContext, lookupContext, type NamedContextSpec } from "./named-contexts.js";
import { fetchRemoteContext, type RemoteAccess } from "./remote-context.js";
import type { BaseImage } from "../image/base-image.js";
import type { EventSink } from "../events.js";

/** What a named context is once resolved. */
export type ResolvedContext =
  /** a directory read like the main context (a local one, or a fetched git/http one) */
  | { kind: "dir"; name: string; what: string; service: ContextService }
  /** an image: its config, layers and unpacked snapshot; `identity` is what cache keys depend on */
  | { kind: "image"; name: string; what: string; base: BaseImage; identity: string }
  | { kind: "scratch"; name: string; what: string };

/** What resolving an image needs from the build (base-image.ts's resolveBase and unpackImage, bound to the build). */
export interface ImageResolver {
  resolveBase(ref: string, platform: PlatformSpec): Promise<BaseImage>;
  unpack(img: Awaited<ReturnType<typeof resolveImage>>, of: string): Promise<string | undefined>;
}

export class NamedContextSources {
  private readonly resolved = new Map<string, Promise<ResolvedContext>>();
  private readonly indexes: ContextIndex[] = [];
  /** oci-layout contexts: the manifest digest their tag named when the build started */
  private readonly layoutDigests = new Map<string, Digest>();

  private constructor(
    private readonly contexts: Map<string, { name: string; spec: NamedContextSpec }>,
    private readonly store: Store,
    private readonly listings: ContextListings,
    private readonly scratch: string,
    private readonly signal: AbortSignal,
    private readonly emit: EventSink,
    private readonly access: RemoteAccess,
  ) {}

  /**
   * The build's named contexts, checked before any step runs as buildx checks them: a local one
   * must be a directory, an oci-layout one's tag must name an image in its index.json.
   */
  static async open(contexts: Map<string, { name: string; spec: NamedContextSpec }>, store: Store, listings: ContextListings, scratch: string, signal: AbortSignal, emit: EventSink, access: RemoteAccess): Promise<NamedContextSources> {
    const sources = new NamedContextSources(contexts, store, listings, scratch, signal, emit, access);
    for (const [key, { name, spec }] of contexts) {
      if (spec.kind === "local") {
        const st = await lstat(spec.dir).catch((e: NodeJS.ErrnoException) => {
          throw new BuildContextError(`failed to get build context ${name}: ${e.code === "ENOENT" ? "no such directory" : e.code ?? e.message}`);
        });
        if (!st.isDirectory()) throw new BuildContextError(`failed to get build context path ${name}=${spec.dir}: not a directory`);
      } else if (spec.kind === "oci-layout") {
        sources.layoutDigests.set(key, spec.digest ?? (await layoutTagDigest(spec.path, spec.tag ?? "latest", name)));
      }
    }
    return sources;
  }

  get size(): number {
    return this.contexts.size;
  }

  /** Whether `ref` (a stage name, an image reference) names a named context. */
  has(ref: string): boolean {
    return lookupContext(this.contexts, ref) !== undefined;
  }

  /** The named contexts resolved so far (BuildResult.contexts): name, what, identity. */
  readonly report: { name: string; what: string; identity: string }[] = [];

  /** The named context `ref` stands for (resolved once per build), or undefined. */
  resolve(ref: string, platform: PlatformSpec, images: ImageResolver): Promise<ResolvedContext> | undefined {
    const entry = lookupContext(this.contexts, ref);
    if (!entry) return undefined;
    let p = this.resolved.get(entry.name);
    if (!p) {
      p = this.load(entry.name, entry.spec, platform, images).then(async (r) => {
        const identity = r.kind === "image" ? r.identity : r.kind === "scratch" ? "scratch" : `context:${await r.service.digest(["."])}`;
        const line = { name: r.name, what: r.what, identity };
        this.report.push(line);
        this.emit({ type: "context", ...line });
        return r;
      });
      p.catch(() => undefined);
      this.resolved.set(entry.name, p);
    }
    return p;
  }

  /** Writes the local contexts' stat indexes (after the build, as the main context's). */
  async save(): Promise<void> {
    await Promise.all(this.indexes.map((i) => i.save()));
  }

  private async load(name: string, spec: NamedContextSpec, platform: PlatformSpec, images: ImageResolver): Promise<ResolvedContext> {
    const what = describeContext(name, spec);
    switch (spec.kind) {
      case "local":
        return { kind: "dir", name, what, service: await this.dirService(spec.dir) };
      case "git":
      case "http": {
        const into = join(this.scratch, `remote-context-${randomBytes(6).toString("hex")}`);
        await mkdir(into, { recursive: true });
        const fetched = await fetchRemoteContext(name, spec, into, this.signal, this.access);
        const service = await this.dirService(fetched.dir);
        return { kind: "dir", name, what, service: { ...service, digest: async (s, sel) => `${fetched.identity}:${await service.digest(s, sel)}` } };
      }
      case "image": {
        if (spec.ref === "scratch") return { kind: "scratch", name, what };
        const base = await images.resolveBase(spec.ref, platform);
        return { kind: "image", name, what, base, identity: `image:${base.configDigest}` };
      }
      case "oci-layout": {
        const digest = this.layoutDigests.get(name) as Digest;
        const images0 = await readArchive(this.store.content, spec.path);
        const target: Descriptor | undefined = images0.find((i) => i.target.digest === digest)?.target;
        if (!target) throw new BuildContextError(`${what}: the layout has no image ${digest} in its index.json`);
        const img = await resolveImage(this.store.content, target, { os: platform.os, architecture: platform.architecture });
        const snapshot = await images.unpack(img, what);
        const base: BaseImage = {
          config: img.config,
          layers: img.manifest.layers.map((d, i) => ({ descriptor: d, diffId: img.config.rootfs.diff_ids[i] as Digest })),
          snapshot,
          manifest: img.manifestDescriptor,
          configDigest: img.manifest.config.digest,
        };
        return { kind: "image", name, what, base, identity: `oci-layout:${img.manifestDescriptor.digest}` };
      }
    }
  }

  private async dirService(dir: string): Promise<ContextService> {
    const ctx = await loadContext(dir);
    const index = new ContextIndex(contextIndexPath(this.store.root, dir), this.listings);
    await index.load();
    this.indexes.push(index);
    return { dir, ignore: ctx.ignore, digest: (sources, selection) => index.digest(dir, ctx.ignore, sources, selection) };
  }
}

/** buildx's resolveDigest: the manifest index.json names `tag` (org.opencontainers.image.ref.name), else its only one. */
async function layoutTagDigest(path: string, tag: string, name: string): Promise<Digest> {
  const fail = (why: string) => new BuildContextError(`oci-layout reference "oci-layout://${path}:${tag}" for context ${name} could not be resolved: ${why}`);
  let text: string;
  try {
    const fh = await open(join(path, "index.json"), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      if ((await fh.stat()).size > 4 << 20) throw fail("index.json is over 4 MiB");
      text = await fh.readFile("utf8");
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof BuildContextError) throw e;
    throw fail(`${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no index.json (is it an OCI image layout directory?)" : (e as Error).message}`);
  }
  let manifests: { digest?: unknown; annotations?: Record<string, unknown> }[];
  try {
    const idx = JSON.parse(text) as { manifests?: unknown };
    if (!Array.isArray(idx.manifests)) throw new InvalidContentError("no manifests list");
    manifests = idx.manifests as typeof manifests;
  } catch (e) {
    throw fail(`index.json does not parse: ${(e as Error).message}`);
  }
  const hit = manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag) ?? (manifests.length === 1 ? manifests[0] : undefined);
  if (!hit || typeof hit.digest !== "string" || !/^sha256:[a-f0-9]{64}$/.test(hit.digest)) throw fail("failed to resolve digest");
  return hit.digest as Digest;
}
