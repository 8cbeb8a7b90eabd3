/**
 * Test support: image archives around hostile layers, written by hand (not by the product's
 * writers, so they can be as broken as an attacker makes them): an OCI layout directory and a
 * docker-archive tar (docker save) with one config and the given layer blobs.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { file, tarOf } from "./hostile-tar.js";

export interface LayerBlob {
  bytes: Buffer;
  gzip: boolean;
}

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

function diffId(l: LayerBlob): string {
  if (!l.gzip) return `sha256:${sha(l.bytes)}`;
  try {
    return `sha256:${sha(gunzipSync(l.bytes))}`;
  } catch {
    return `sha256:${sha(l.bytes)}`;
  }
}

export interface ArchiveFaults {
  /** leave layer blob N out of the archive */
  missingLayer?: number;
  /** give the config this diff id for every layer instead of the real one */
  wrongDiffId?: string;
}

function config(layers: LayerBlob[], faults: ArchiveFaults): string {
  return JSON.stringify({
    architecture: "amd64", os: "linux", created: "2020-01-01T00:00:00Z",
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
    rootfs: { type: "layers", diff_ids: layers.map((l) => faults.wrongDiffId ?? diffId(l)) },
    history: layers.map(() => ({ created: "2020-01-01T00:00:00Z", created_by: "hostile" })),
  });
}

/** An OCI image layout directory at `dest` holding one image named `name`. */
export function writeOciLayoutDir(dest: string, name: string, layers: LayerBlob[], faults: ArchiveFaults = {}): void {
  const blobs = join(dest, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const cfg = config(layers, faults);
  writeFileSync(join(blobs, sha(cfg)), cfg);
  const descs = layers.map((l, i) => {
    const hex = sha(l.bytes);
    if (faults.missingLayer !== i) writeFileSync(join(blobs, hex), l.bytes);
    return { mediaType: l.gzip ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${hex}`, size: l.bytes.length };
  });
  const manifest = JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${sha(cfg)}`, size: Buffer.byteLength(cfg) },
    layers: descs,
  });
  writeFileSync(join(blobs, sha(manifest)), manifest);
  const [repo, tag] = name.split(":") as [string, string];
  writeFileSync(join(dest, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dest, "index.json"), JSON.stringify({
    schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${sha(manifest)}`, size: Buffer.byteLength(manifest),
      annotations: { "io.containerd.image.name": `docker.io/library/${repo}:${tag}`, "org.opencontainers.image.ref.name": tag } }],
  }));
}

/** A docker-archive (docker save) tar holding one image tagged `name`; `layerNames` overrides the Layers paths. */
export function dockerArchive(name: string, layers: LayerBlob[], faults: ArchiveFaults & { layerNames?: string[]; extra?: Parameters<typeof tarOf>[0] } = {}): Buffer {
  const cfg = config(layers, faults);
  const cfgName = `${sha(cfg)}.json`;
  const layerPaths = layers.map((l, i) => faults.layerNames?.[i] ?? `${sha(l.bytes)}/layer.tar`);
  const entries = [file(cfgName, cfg)];
  layers.forEach((l, i) => {
    if (faults.missingLayer !== i) entries.push(file(layerPaths[i] as string, l.bytes));
  });
  entries.push(file("manifest.json", JSON.stringify([{ Config: cfgName, RepoTags: [name], Layers: layerPaths }])));
  entries.push(...(faults.extra ?? []));
  return tarOf(entries);
}
