/**
 * Push: every blob is checked with HEAD first; a blob known to be in another repository of the
 * same registry is mounted (`?mount=&from=`); others are uploaded monolithically (small) or in
 * chunks (PATCH with Content-Range, then PUT). Index children go before the index, blobs before
 * their manifest, and the manifest is PUT with its own media type. Pushing twice uploads nothing.
 */
import {
  isIndexMediaType, parseIndex, parseManifest, parseReference, type Descriptor, type Digest, type Store,
} from "@tsbuild/oci";
import { RegistryClient, type ClientOptions } from "./client.js";
import { RegistryError } from "./errors.js";
import { BlobLocations } from "./locations.js";

export interface PushOptions extends ClientOptions {
  /** uploads above this size go in chunks of this size (default 16 MiB) */
  chunkSize?: number;
  concurrency?: number;
}

export interface PushResult {
  name: string;
  digest: Digest;
  uploaded: number;
  mounted: number;
  existing: number;
  requests: number;
}

export async function push(store: Store, target: Descriptor, ref: string, opts: PushOptions = {}): Promise<PushResult> {
  const r = parseReference(ref);
  const client = new RegistryClient(r.domain, opts);
  const repo = r.path;
  const scope = `repository:${repo}:pull,push`;
  const locations = new BlobLocations(store.root);
  const chunkSize = opts.chunkSize ?? 16 << 20;
  const stats = { uploaded: 0, mounted: 0, existing: 0, requests: 0 };
  const send: RegistryClient["send"] = (m, p, o) => {
    stats.requests++;
    return client.send(m, p, o);
  };

  const location = (res: { headers: Record<string, string | string[] | undefined> }): string => {
    const l = res.headers.location;
    const loc = Array.isArray(l) ? l[0] : l;
    if (!loc) throw new RegistryError(`${r.domain}: upload started without a Location header`);
    return new URL(loc, client.base).toString();
  };
  const withDigest = (url: string, d: Digest) => `${url}${url.includes("?") ? "&" : "?"}digest=${encodeURIComponent(d)}`;

  async function pushBlob(d: Descriptor): Promise<void> {
    const head = await send("HEAD", `/v2/${repo}/blobs/${d.digest}`, { scope });
    await head.body.dump();
    if (head.status === 200) {
      stats.existing++;
      return;
    }
    let start;
    const from = await locations.find(r.domain, d.digest, repo);
    if (from) {
      start = await send("POST", `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(from)}`, { scope: `${scope} repository:${from}:pull` });
      if (start.status === 201) {
        await start.body.dump();
        stats.mounted++;
        return;
      }
    } else {
      start = await send("POST", `/v2/${repo}/blobs/uploads/`, { scope });
    }
    await client.expect(start, [202], `starting an upload to ${repo}`);
    await start.body.dump();
    let url = location(start);
    if (d.size <= chunkSize) {
      const put = await send("PUT", withDigest(url, d.digest), {
        scope, headers: { "content-type": "application/octet-stream", "content-length": String(d.size) }, body: () => store.content.reader(d.digest),
      });
      await client.expect(put, [201], `uploading ${d.digest} to ${repo}`);
      await put.body.dump();
    } else {
      for (let off = 0; off < d.size; off += chunkSize) {
        const end = Math.min(off + chunkSize, d.size) - 1;
        const patch = await send("PATCH", url, {
          scope,
          headers: { "content-type": "application/octet-stream", "content-range": `${off}-${end}`, "content-length": String(end - off + 1) },
          body: () => store.content.reader(d.digest, { start: off, end: end + 1 }),
        });
        await client.expect(patch, [202], `uploading a chunk of ${d.digest} to ${repo}`);
        await patch.body.dump();
        url = location(patch);
      }
      const put = await send("PUT", withDigest(url, d.digest), { scope, headers: { "content-length": "0" } });
      await client.expect(put, [201], `finishing the upload of ${d.digest} to ${repo}`);
      await put.body.dump();
    }
    stats.uploaded++;
  }

  async function pushManifest(d: Descriptor, reference: string): Promise<void> {
    const bytes = await store.content.readBytes(d.digest);
    const res = await send("PUT", `/v2/${repo}/manifests/${reference}`, {
      scope, headers: { "content-type": d.mediaType }, body: () => bytes,
    });
    if (res.status === 415 || res.status === 400) {
      const t = await res.body.text();
      const hint = isIndexMediaType(d.mediaType) ? "; a registry that takes no OCI image index cannot hold a multi-platform image: push each platform under a tag of its own (tsbuild build --platform P -t NAME:TAG-ARCH --push)" : "";
      throw new RegistryError(`${r.domain}: the registry refused ${d.mediaType} for ${repo}:${reference} (${res.status}: ${t.slice(0, 200)})${hint}`, res.status);
    }
    await client.expect(res, [201, 200], `putting manifest ${repo}:${reference}`);
    await res.body.dump();
  }

  async function pushImage(d: Descriptor, reference: string): Promise<Digest[]> {
    const bytes = await store.content.readBytes(d.digest);
    if (isIndexMediaType(d.mediaType)) {
      const all: Digest[] = [];
      for (const m of parseIndex(bytes).manifests) all.push(...(await pushImage(m, m.digest)));
      await pushManifest(d, reference);
      return [...all, d.digest];
    }
    const man = parseManifest(bytes);
    const blobs = [man.config, ...man.layers];
    let i = 0;
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 3, blobs.length) }, async () => {
      while (i < blobs.length) await pushBlob(blobs[i++] as Descriptor);
    }));
    await pushManifest(d, reference);
    return [...blobs.map((b) => b.digest), d.digest];
  }

  try {
    const digests = await pushImage(target, r.tag ?? target.digest);
    await locations.add(r.domain, repo, digests);
    return { name: ref, digest: target.digest, ...stats };
  } finally {
    await client.close();
  }
}
