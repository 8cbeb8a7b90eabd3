import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createServer, request as httpRequest, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import { CorruptImageError, DigestMismatchError, MediaTypes, Store, storeLayer, writeImage, resolveImage, type Descriptor } from "@tsbuild/oci";
import { pull, push, saveCredential, UnauthorizedError, RegistryError, RegistryTimeoutError } from "../src/index.js";
import { startRegistry, type RegistryServer } from "./helpers/registry-server.js";
import { startProxy } from "./helpers/counting-proxy.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-registry-test-"));
let n = 0;
const freshStore = () => Store.open(join(work, `store-${n++}`));
const skopeoDigest = (ref: string, creds?: string) =>
  JSON.parse(execFileSync("skopeo", ["inspect", "--tls-verify=false", ...(creds ? ["--creds", creds] : []), `docker://${ref}`],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })).Digest as string;

let registry: RegistryServer;
let source: Store;
let image: Descriptor;
const payload = randomBytes(3 << 20);

beforeAll(async () => {
  registry = await startRegistry();
  source = await freshStore();
  const layer = await storeLayer(source.content, [
    { path: "data.bin", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: payload.length, open: () => Readable.from([payload]) },
    { path: "hello", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: 6, open: () => Readable.from([Buffer.from("hello\n")]) },
  ]);
  const img = await writeImage(source.content, { architecture: "amd64", os: "linux", config: { Cmd: ["sh"] } }, [layer]);
  image = img.manifest;
  await source.images.put("local/app:1", image);
});
afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("push and pull against docker-registry", () => {
  it("push, re-push (nothing uploaded), cross-repository mount, pull back", async () => {
    const first = await push(source, image, `${registry.host}/app:1`);
    expect(first.uploaded).toBe(2);
    expect(skopeoDigest(`${registry.host}/app:1`)).toBe(image.digest);

    const again = await push(source, image, `${registry.host}/app:1`);
    expect(again.uploaded).toBe(0);
    expect(again.existing).toBe(2);

    const other = await push(source, image, `${registry.host}/other/app:2`);
    expect(other.mounted).toBe(2);
    expect(other.uploaded).toBe(0);
    expect(skopeoDigest(`${registry.host}/other/app:2`)).toBe(image.digest);

    const dest = await freshStore();
    const pulled = await pull(dest, `${registry.host}/app:1`);
    expect(pulled.manifest.digest).toBe(image.digest);
    expect(pulled.downloaded).toBe(2);
    const a = await resolveImage(source.content, image);
    const b = await resolveImage(dest.content, (await dest.images.get(`${registry.host}/app:1`))!.target);
    expect(b.config).toEqual(a.config);

    const repull = await pull(dest, `${registry.host}/app:1`);
    expect(repull.downloaded).toBe(0);
    expect(repull.requests).toBe(1);
  });
  it("uploads large blobs in chunks", async () => {
    const store = await freshStore();
    const data = randomBytes(3 << 20);
    const layer = await storeLayer(store.content, [
      { path: "c.bin", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: data.length, open: () => Readable.from([data]) },
    ]);
    const img = await writeImage(store.content, { architecture: "amd64", os: "linux" }, [layer]);
    const r = await push(store, img.manifest, `${registry.host}/chunked:1`, { chunkSize: 1 << 20 });
    expect(r.uploaded).toBe(2);
    expect(skopeoDigest(`${registry.host}/chunked:1`)).toBe(img.manifest.digest);
    const pulled = await pull(await freshStore(), `${registry.host}/chunked:1`);
    expect(pulled.downloaded).toBe(2);
  });
  it("a missing tag is a clear not-found error", async () => {
    await expect(pull(await freshStore(), `${registry.host}/app:nope`)).rejects.toThrow(/manifest app:nope not found/);
  });
  it("pulls an image that skopeo pushed (Docker schema 2)", async () => {
    // skopeo copies our image to a new repo, converting it to a Docker schema 2 manifest
    execFileSync("skopeo", ["copy", "--insecure-policy", "--src-tls-verify=false", "--dest-tls-verify=false", "--format", "v2s2", `docker://${registry.host}/app:1`, `docker://${registry.host}/converted:1`]);
    const dest = await freshStore();
    const r = await pull(dest, `${registry.host}/converted:1`);
    expect(r.manifest.digest).toBe(skopeoDigest(`${registry.host}/converted:1`));
  });
});

describe("a corrupt image in the registry is never named", () => {
  const canary = join(work, "canary");
  mkdirSync(canary, { recursive: true });
  writeFileSync(join(canary, "motd"), "host\n");
  const canaryState = () => `${readFileSync(join(canary, "motd"), "utf8")} ${statSync(join(canary, "motd")).mtimeMs} ${statSync(canary).mtimeMs}`;
  const before = canaryState();
  const layers = async (store: Store) => [
    await storeLayer(store.content, [{ path: "a", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: 2, open: () => Readable.from([Buffer.from("a\n")]) }]),
    await storeLayer(store.content, [{ path: "b", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: 2, open: () => Readable.from([Buffer.from("b\n")]) }]),
  ];
  /** Pulls `ref` into a fresh store: refused, nothing named, only blobs whose bytes are their digest. */
  const refused = async (ref: string, message: RegExp) => {
    const dest = await freshStore();
    const err = await pull(dest, ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptImageError);
    expect((err as Error).message).toMatch(message);
    expect(await dest.images.list()).toEqual([]);
    for await (const b of dest.content.walk()) {
      expect(`sha256:${createHash("sha256").update(await dest.content.readBytes(b.digest)).digest("hex")}`).toBe(b.digest);
    }
    expect(canaryState()).toBe(before);
  };
  it("a layer that is not the one its config's diff id names", async () => {
    const store = await freshStore();
    const [a, b] = await layers(store);
    const img = await writeImage(store.content, { architecture: "amd64", os: "linux" }, [a!, { ...b!, diffId: a!.diffId }]);
    await push(store, img.manifest, `${registry.host}/liar:1`);
    await refused(`${registry.host}/liar:1`, new RegExp(`image ${registry.host}/liar:1 is corrupt: layer ${b!.descriptor.digest} has diff id ${b!.diffId}, but its config says ${a!.diffId}; the registry serves a corrupt image and nothing was named`));
  });
  it("more layers than diff ids", async () => {
    const store = await freshStore();
    const [a, b] = await layers(store);
    const config = await store.content.putBytes(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [a!.diffId] } }));
    const manifest = JSON.stringify({
      schemaVersion: 2, mediaType: MediaTypes.OCI_MANIFEST,
      config: { mediaType: MediaTypes.OCI_CONFIG, digest: config.digest, size: config.size }, layers: [a!.descriptor, b!.descriptor],
    });
    const m = await store.content.putBytes(manifest);
    await push(store, { mediaType: MediaTypes.OCI_MANIFEST, digest: m.digest, size: m.size }, `${registry.host}/short:1`);
    await refused(`${registry.host}/short:1`, /its manifest has 2 layers but its config 1 diff ids/);
  });
});

describe("Basic auth (htpasswd)", () => {
  let authed: RegistryServer;
  beforeAll(async () => {
    authed = await startRegistry({ user: "ci", password: "s3cret" });
  });
  afterAll(async () => authed?.stop());
  it("fails clearly without credentials; with docker config credentials: push, re-push (nothing uploaded), cross-repository mount, pull, as skopeo --creds sees it", async () => {
    const env = { DOCKER_CONFIG: join(work, "docker-config") };
    await expect(push(source, image, `${authed.host}/app:1`, { env })).rejects.toBeInstanceOf(UnauthorizedError);
    await saveCredential(authed.host, "ci", "s3cret", env);
    const r = await push(source, image, `${authed.host}/app:1`, { env });
    expect(r.uploaded).toBe(2);
    expect(skopeoDigest(`${authed.host}/app:1`, "ci:s3cret")).toBe(image.digest);
    const again = await push(source, image, `${authed.host}/app:1`, { env });
    expect(again.uploaded).toBe(0);
    expect(again.existing).toBe(2);
    // the mount asks for pull on the other repository too: Basic credentials cover both
    const mounted = await push(source, image, `${authed.host}/team/app:2`, { env });
    expect(mounted.mounted).toBe(2);
    expect(mounted.uploaded).toBe(0);
    expect(skopeoDigest(`${authed.host}/team/app:2`, "ci:s3cret")).toBe(image.digest);
    expect(() => skopeoDigest(`${authed.host}/team/app:2`, "ci:wrong")).toThrow();
    const pulled = await pull(await freshStore(), `${authed.host}/team/app:2`, { env });
    expect(pulled.manifest.digest).toBe(image.digest);
    await saveCredential(authed.host, "ci", "wrong", env);
    await expect(pull(await freshStore(), `${authed.host}/app:1`, { env })).rejects.toThrow(/unauthorized.*docker-config/);
  });
});

describe("Bearer token flow", () => {
  let server: Server;
  let host = "";
  const tokenRequests: string[] = [];
  beforeAll(async () => {
    // a registry front that demands a Bearer token from its own /token endpoint
    server = createServer((req, res) => {
      const port = (server.address() as { port: number }).port;
      if (req.url?.startsWith("/token")) {
        const u = new URL(req.url, "http://x");
        tokenRequests.push(u.searchParams.get("scope") ?? "");
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ token: `tok-${u.searchParams.get("scope")}` }));
        return;
      }
      if (!String(req.headers.authorization ?? "").startsWith("Bearer tok-")) {
        res.writeHead(401, { "www-authenticate": `Bearer realm="http://127.0.0.1:${port}/token",service="test"` });
        res.end();
        return;
      }
      const [h, p] = registry.host.split(":");
      const up = httpRequest({ host: h, port: Number(p), method: req.method, path: req.url, headers: { ...req.headers, host: registry.host } }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => new Promise((r) => server.close(r)));
  it("gets a token per scope once and pulls", async () => {
    const r = await pull(await freshStore(), `${host}/app:1`);
    expect(r.manifest.digest).toBe(image.digest);
    expect(tokenRequests).toEqual(["repository:app:pull"]);
  });
});

describe("faults through a loopback proxy", () => {
  const viaProxy = async (setup: (p: Awaited<ReturnType<typeof startProxy>>) => void, opts = {}) => {
    const proxy = await startProxy(registry.host);
    setup(proxy);
    const store = await freshStore();
    try {
      const result = await pull(store, `${proxy.host}/app:1`, { backoffMs: 10, ...opts });
      return { result, store, proxy };
    } finally {
      await proxy.stop();
    }
  };
  it("a connection cut mid-blob resumes and completes", async () => {
    const layer = (await resolveImage(source.content, image)).manifest.layers[0]!.digest;
    const { result, proxy } = await viaProxy((p) => p.faults.push({ match: new RegExp(`/blobs/${layer}`), fault: { kind: "cut", after: 1 << 20, times: 1 } }));
    expect(result.downloaded).toBe(2);
    expect(proxy.requests.filter((r) => r.url.includes("/blobs/")).length).toBeGreaterThan(2);
  });
  it("corrupted bytes fail clearly and nothing is stored", async () => {
    const proxy = await startProxy(registry.host);
    proxy.faults.push({ match: /\/blobs\/sha256/, fault: { kind: "corrupt" } });
    const store = await freshStore();
    await expect(pull(store, `${proxy.host}/app:1`, { backoffMs: 10 })).rejects.toBeInstanceOf(DigestMismatchError);
    const blobs = [];
    for await (const b of store.content.walk()) blobs.push(b);
    expect(blobs.length).toBe(1); // the manifest only: no layer or config was stored
    await proxy.stop();
  });
  it("500s are retried, boundedly", async () => {
    const { result } = await viaProxy((p) => p.faults.push({ match: /manifests/, fault: { kind: "status", status: 500, times: 2 } }));
    expect(result.manifest.digest).toBe(image.digest);
    const proxy = await startProxy(registry.host);
    proxy.faults.push({ match: /manifests/, fault: { kind: "status", status: 503, times: 100 } });
    await expect(pull(await freshStore(), `${proxy.host}/app:1`, { backoffMs: 5, retries: 2 })).rejects.toThrow(/answered 503 after 3 tries/);
    expect(proxy.requests.length).toBe(3);
    await proxy.stop();
  });
  it("429 with Retry-After is honoured", async () => {
    const t0 = Date.now();
    const { result } = await viaProxy((p) => p.faults.push({ match: /manifests/, fault: { kind: "status", status: 429, retryAfter: 1, times: 1 } }));
    expect(result.manifest.digest).toBe(image.digest);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    const proxy = await startProxy(registry.host);
    proxy.faults.push({ match: /manifests/, fault: { kind: "status", status: 429, retryAfter: 0, times: 100 } });
    await expect(pull(await freshStore(), `${proxy.host}/app:1`, { retries: 1 })).rejects.toThrow(/rate limited \(429\); retry after 0 s/);
    await proxy.stop();
  });
  it("a stalled server times out with a clear error", async () => {
    const proxy = await startProxy(registry.host);
    proxy.faults.push({ match: /manifests/, fault: { kind: "stall" } });
    await expect(pull(await freshStore(), `${proxy.host}/app:1`, { timeoutMs: 300, retries: 1, backoffMs: 10 })).rejects.toBeInstanceOf(RegistryTimeoutError);
    await proxy.stop();
  });
  void RegistryError;
});
