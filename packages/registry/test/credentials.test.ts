import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Store, storeLayer, writeImage, type Descriptor } from "@tsbuild/oci";
import { findCredential, NotFoundError, pull, push, UnauthorizedError } from "../src/index.js";
import { startRegistry, type RegistryServer } from "./helpers/registry-server.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-registry-creds-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A DOCKER_CONFIG dir holding `config`, and an env that points at it (PATH: the fake helper first). */
function dockerConfig(name: string, config: unknown): NodeJS.ProcessEnv {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(config));
  return { DOCKER_CONFIG: dir, PATH: `${helperBin}:${process.env.PATH ?? "/usr/bin:/bin"}` };
}

// a fake credential helper, as docker-credential-pass & co: `get` reads the server on stdin and
// answers {ServerURL, Username, Secret}, or exits 1 for a server it does not know
const helperBin = join(work, "bin");
const helperLog = join(work, "helper.log");
const helperAnswers = join(work, "helper-answers.json");
beforeAll(() => {
  mkdirSync(helperBin, { recursive: true });
  writeFileSync(join(helperBin, "docker-credential-test"), `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
echo "$server" >> ${helperLog}
answer=$(sed -n "s|^$server=||p" ${helperAnswers})
[ -n "$answer" ] || { echo "credentials not found in native keychain"; exit 1; }
echo "$answer"
`);
  chmodSync(join(helperBin, "docker-credential-test"), 0o755);
});
const helperKnows = (answers: Record<string, { Username: string; Secret: string }>) =>
  writeFileSync(helperAnswers, Object.entries(answers).map(([s, a]) => `${s}=${JSON.stringify({ ServerURL: s, ...a })}`).join("\n") + "\n");
const helperAsked = () => readFileSync(helperLog, "utf8").trim().split("\n");

describe("credentials from docker's config.json", () => {
  it("auths.identitytoken is an identity token", async () => {
    const env = dockerConfig("idtoken", { auths: { "reg.example:5000": { identitytoken: "id-tok" } } });
    expect(await findCredential("reg.example:5000", env)).toEqual({
      identityToken: "id-tok", source: `${join(work, "idtoken", "config.json")} (auths.reg.example:5000.identitytoken)`,
    });
  });

  it("credHelpers per registry, credsStore for the rest, helper first then auths", async () => {
    helperKnows({ "a.example": { Username: "alice", Secret: "pw-a" }, "b.example": { Username: "<token>", Secret: "refresh-b" } });
    const env = dockerConfig("helpers", {
      credHelpers: { "a.example": "test", "c.example": "missing-helper" },
      credsStore: "test",
      auths: { "c.example": { auth: Buffer.from("carol:pw-c").toString("base64") }, "d.example": { auth: Buffer.from("dave:pw-d").toString("base64") } },
    });
    expect(await findCredential("a.example", env)).toEqual({ username: "alice", password: "pw-a", source: "docker-credential-test" });
    // "<token>" as the user name: the secret is an identity token, as docker reads it
    expect(await findCredential("b.example", env)).toEqual({ identityToken: "refresh-b", source: "docker-credential-test" });
    // a helper that is not installed, or does not know the server: the auths entry
    expect(await findCredential("c.example", env)).toMatchObject({ username: "carol", password: "pw-c" });
    expect(await findCredential("d.example", env)).toMatchObject({ username: "dave", password: "pw-d" });
    expect(await findCredential("e.example", env)).toBeUndefined();
    expect(helperAsked()).toEqual(["a.example", "b.example", "d.example", "e.example"]);
  });
});

describe("credentials in use", () => {
  let registry: RegistryServer;
  let store: Store;
  let image: Descriptor;
  beforeAll(async () => {
    registry = await startRegistry({ user: "ci", password: "from-helper" });
    store = await Store.open(join(work, "store"));
    const text = Buffer.from("hi\n");
    const layer = await storeLayer(store.content, [{ path: "f", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), size: 3, open: () => Readable.from([text]) }]);
    image = (await writeImage(store.content, { architecture: "amd64", os: "linux" }, [layer])).manifest;
  });
  afterAll(async () => registry?.stop());

  it("a credsStore helper's credentials push to and pull from an htpasswd registry", async () => {
    helperKnows({});
    const env = dockerConfig("store-in-use", { credsStore: "test" });
    await expect(push(store, image, `${registry.host}/app:1`, { env })).rejects.toBeInstanceOf(UnauthorizedError);
    helperKnows({ [registry.host]: { Username: "ci", Secret: "from-helper" } });
    expect((await push(store, image, `${registry.host}/app:1`, { env })).uploaded).toBe(2);
    const pulled = await pull(await Store.open(join(work, "store-pulled")), `${registry.host}/app:1`, { env });
    expect(pulled.manifest.digest).toBe(image.digest);
  });

  it("an identity token is exchanged at the token server as an OAuth2 refresh token", async () => {
    const tokenPosts: Record<string, string>[] = [];
    const bearer: string[] = [];
    const server: Server = createServer((req, res) => {
      const port = (server.address() as { port: number }).port;
      if (req.url === "/token" && req.method === "POST") {
        let body = "";
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("end", () => {
          const form = Object.fromEntries(new URLSearchParams(body));
          tokenPosts.push(form);
          if (form.refresh_token !== "id-tok") return void res.writeHead(401).end();
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: "access-1" }));
        });
        return;
      }
      const auth = String(req.headers.authorization ?? "");
      if (!auth.startsWith("Bearer ")) {
        return void res.writeHead(401, { "www-authenticate": `Bearer realm="http://127.0.0.1:${port}/token",service="stub"` }).end();
      }
      bearer.push(auth);
      res.writeHead(404, { "content-type": "application/json" }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const env = dockerConfig("idtoken-in-use", { auths: { [host]: { identitytoken: "id-tok" } } });
      await expect(pull(await Store.open(join(work, "store-id")), `${host}/app:1`, { env })).rejects.toBeInstanceOf(NotFoundError);
      expect(tokenPosts).toEqual([{ grant_type: "refresh_token", refresh_token: "id-tok", service: "stub", scope: "repository:app:pull", client_id: "tsbuild" }]);
      expect(bearer).toEqual(["Bearer access-1"]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
