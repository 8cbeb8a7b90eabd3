import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MediaTypes, Store, sha256Digest } from "@tsbuild/oci";
import { pull, RegistryError, UnsupportedMediaTypeError } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-registry-media-"));
let n = 0;
const freshStore = () => Store.open(join(work, `store-${n++}`));
const d = (c: string) => `sha256:${c.repeat(64)}`;

const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const ociManifest = (config: string, layer: string) =>
  json({ schemaVersion: 2, mediaType: MediaTypes.OCI_MANIFEST, config: { mediaType: config, digest: d("a"), size: 2 }, layers: [{ mediaType: layer, digest: d("b"), size: 3 }] });
const oddChild = ociManifest(MediaTypes.OCI_CONFIG, "application/vnd.example.layer.v1");

/** repository → [content type, manifest body]; a stub registry that serves only these manifests */
const manifests: Record<string, [string, Buffer]> = {
  schema1: ["application/vnd.docker.distribution.manifest.v1+prettyjws",
    json({ schemaVersion: 1, name: "schema1", tag: "latest", architecture: "amd64", fsLayers: [{ blobSum: d("c") }], history: [{ v1Compatibility: "{}" }], signatures: [] })],
  "schema1-plain": ["application/json", json({ schemaVersion: 1, name: "schema1-plain", tag: "latest", fsLayers: [], history: [] })],
  html: ["text/html", Buffer.from("<html><body>502 Bad Gateway</body></html>")],
  unknown: ["application/vnd.example.thing+json", json({ schemaVersion: 2, mediaType: "application/vnd.example.thing+json" })],
  "odd-layer": [MediaTypes.OCI_MANIFEST, oddChild],
  artifact: [MediaTypes.OCI_MANIFEST, ociManifest("application/vnd.cncf.helm.config.v1+json", "application/vnd.cncf.helm.chart.content.v1.tar+gzip")],
  index: [MediaTypes.OCI_INDEX, json({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX,
    manifests: [{ mediaType: MediaTypes.OCI_MANIFEST, digest: sha256Digest(oddChild), size: oddChild.length, platform: { os: "linux", architecture: "amd64" } }] })],
};

let server: Server;
let host = "";
let blobRequests = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? "";
    if (url === "/v2/") return void res.writeHead(200).end("{}");
    if (url.includes("/blobs/")) {
      blobRequests++;
      return void res.writeHead(404).end();
    }
    const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url);
    if (m?.[2]?.startsWith("sha256:") && m[2] === sha256Digest(oddChild)) {
      return void res.writeHead(200, { "content-type": MediaTypes.OCI_MANIFEST }).end(oddChild);
    }
    const found = m ? manifests[m[1] as string] : undefined;
    if (!found) return void res.writeHead(404, { "content-type": "application/json" }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    res.writeHead(200, { "content-type": found[0] }).end(found[1]);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(work, { recursive: true, force: true });
});

/** Pulls and returns the error; the store must have stayed empty and no blob been asked for. */
async function failedPull(repo: string): Promise<Error> {
  const store = await freshStore();
  const before = blobRequests;
  const err = await pull(store, `${host}/${repo}:latest`, { platform: { os: "linux", architecture: "amd64" } }).then(
    () => new Error("pull succeeded"), (e: Error) => e);
  const stored: string[] = [];
  for await (const b of store.content.walk()) stored.push(b.digest);
  expect(stored).toEqual([]);
  expect(blobRequests).toBe(before);
  return err;
}

describe("what a pull refuses, before storing anything", () => {
  it.each(["schema1", "schema1-plain"])("a Docker schema 1 manifest (%s) is an UnsupportedMediaTypeError saying how to convert it", async (repo) => {
    const e = await failedPull(repo);
    expect(e).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(e.message).toMatch(/Docker schema 1 manifest.*skopeo copy --format v2s2/);
  });
  it("an unknown manifest media type", async () => {
    const e = await failedPull("unknown");
    expect(e).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(e.message).toContain("application/vnd.example.thing+json, not an image");
  });
  it("an unknown layer media type, also behind an index", async () => {
    for (const repo of ["odd-layer", "index"]) {
      const e = await failedPull(repo);
      expect(e).toBeInstanceOf(UnsupportedMediaTypeError);
      expect(e.message).toContain(`layer ${d("b")} has media type application/vnd.example.layer.v1`);
    }
  });
  it("an artifact (a config that is not an image config)", async () => {
    const e = await failedPull("artifact");
    expect(e).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(e.message).toContain("application/vnd.cncf.helm.config.v1+json is not an image config");
  });
  it("a manifest that is not JSON is a RegistryError, not a SyntaxError", async () => {
    const e = await failedPull("html");
    expect(e).toBeInstanceOf(RegistryError);
    expect(e).not.toBeInstanceOf(SyntaxError);
    expect(e.message).toContain(`${host}: manifest html:latest: the registry answered with a manifest that is not JSON`);
    expect(e.message).toContain("<html><body>502 Bad Gateway");
  });
});
