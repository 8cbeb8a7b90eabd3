import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Readable } from "node:stream";
import { DigestingStream, MediaTypes, Store, writeImage } from "@tsbuild/oci";
import { build, BuildError, type BuildEvent } from "../src/index.js";
import { BASE_ENV_PATH, busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-solver-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  const store = await Store.open(root);
  const blob = await store.content.ingest(Readable.from([busyboxTar(makeBusyboxRootfs(join(work, "rootfs")))]).pipe(new DigestingStream()));
  const img = await writeImage(store.content, { architecture: "amd64", os: "linux", config: { Env: [BASE_ENV_PATH], Cmd: ["sh"] } },
    [{ descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest: blob.digest, size: blob.size }, diffId: blob.digest }]);
  await store.images.put("base:1", img.manifest);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "f.txt"), "hello\n");
}, 60_000);

const dockerfile = (text: string) => ({ context: ctx, dockerfileText: text, root, platform: { os: "linux", architecture: "amd64" } });

describe("the solver", () => {
  it("runs independent stages concurrently: two 2 s stages take about 2 s, not 4", async () => {
    const t0 = Date.now();
    await build(dockerfile([
      "FROM base:1 AS a", "RUN sleep 2 && echo a > /a",
      "FROM base:1 AS b", "RUN sleep 2 && echo b > /b",
      "FROM base:1", "COPY --from=a /a /a", "COPY --from=b /b /b",
    ].join("\n")));
    expect(Date.now() - t0).toBeLessThan(3800);
  }, 30_000);
  it("never runs a stage the target does not reach", async () => {
    const events: BuildEvent[] = [];
    const r = await build({ ...dockerfile(["FROM base:1 AS broken", "RUN exit 1", "FROM base:1 AS good", "RUN echo ok > /ok"].join("\n")), target: "good", onEvent: (e) => events.push(e) });
    expect(r.steps.map((s) => s.stage)).toEqual(["good"]);
    expect(events.filter((e) => e.type === "step-start").map((e) => (e as { instruction: string }).instruction)).toEqual(["RUN echo ok > /ok"]);
  });
  it("a failing RUN is a BuildError with the position, exit code and output tail", async () => {
    const p = build(dockerfile(["FROM base:1", "RUN echo first", "RUN echo oops >&2; exit 3"].join("\n")));
    await expect(p).rejects.toBeInstanceOf(BuildError);
    const e = (await p.catch((x: unknown) => x)) as BuildError;
    expect(e.position?.line).toBe(3);
    expect(e.exitCode).toBe(3);
    expect(e.outputTail).toContain("oops");
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(root);
  });
  it("ADD --keep-git-dir of a local file copies it (the flag is for git sources; BuildKit 0.13 builds it the same)", async () => {
    const r = await build({ ...dockerfile("FROM base:1\nADD --keep-git-dir=true f.txt /x/\nRUN test \"$(cat /x/f.txt)\" = hello\n") });
    expect(r.steps.map((s) => s.instruction)).toEqual(["ADD --keep-git-dir=true f.txt /x/", "RUN test \"$(cat /x/f.txt)\" = hello"]);
  });
  it("records steps for the metadata file and ENV/ARG/WORKDIR/USER semantics", async () => {
    const r = await build({
      ...dockerfile(["FROM base:1", "ARG V=1", "ENV E=$V", "WORKDIR /w", "COPY f.txt .", "USER nobody", "RUN test \"$(cat f.txt)\" = hello && test $E = 2 && test $V = 2"].join("\n")),
      buildArgs: { V: "2" }, tags: ["t:1"],
    });
    expect(r.steps).toHaveLength(6);
    for (const s of r.steps) expect(s).toMatchObject({ cached: false, cacheKey: expect.stringMatching(/^sha256:[a-f0-9]{64}$/) });
    expect(r.steps[4]!.position).toBe("Dockerfile:6");
  });
});

describe("SIGINT during a build", () => {
  it("cleans up (no mounts, containers, temp dirs) and exits 130", async () => {
    const bin = fileURLToPath(new URL("../../cli/bin/tsbuild.js", import.meta.url));
    writeFileSync(join(ctx, "Dockerfile.sleep"), "FROM base:1\nRUN echo started && sleep 62\n");
    const child = spawn(process.execPath, [bin, "build", "--progress=plain", "-f", join(ctx, "Dockerfile.sleep"), ctx], {
      env: { ...process.env, TSBUILD_ROOT: root }, stdio: ["ignore", "ignore", "pipe"],
    });
    await new Promise<void>((resolve) => child.stderr.on("data", (d: Buffer) => d.toString().includes("started") && resolve()));
    child.kill("SIGINT");
    const code = await new Promise((r) => child.on("exit", (c) => r(c)));
    expect(code).toBe(130);
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(root);
    expect(spawnSync("runc", ["--root", join(root, "runc"), "list", "-q"]).stdout.toString().trim()).toBe("");
    expect(spawnSync("pgrep", ["-f", "sleep 62"]).stdout.toString().trim()).toBe("");
    expect(readdirSync(join(root, "tmp"))).toEqual([]);
  }, 30_000);
});

describe("contexts and downloads", () => {
  it("builds from a context tar on standard input (tsbuild build -)", async () => {
    const { execFileSync } = await import("node:child_process");
    const dir = join(work, "tarctx");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "Dockerfile"), "FROM base:1\nCOPY hello.txt /hello.txt\n");
    writeFileSync(join(dir, "hello.txt"), "from a tar\n");
    const tar = execFileSync("tar", ["-C", dir, "-cf", "-", "."]);
    const bin = fileURLToPath(new URL("../../cli/bin/tsbuild.js", import.meta.url));
    const out = join(work, "tarctx-out");
    const r = spawnSync(process.execPath, [bin, "build", "-q", "-o", `type=local,dest=${out}`, "-"], { input: tar, env: { ...process.env, TSBUILD_ROOT: root } });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readFileSync(join(out, "hello.txt"), "utf8")).toBe("from a tar\n");
    expect(readdirSync(join(root, "tmp"))).toEqual([]);
  });
  it("ADD of a URL downloads with mode 0600 and the Last-Modified time", async () => {
    const { createServer } = await import("node:http");
    const server = createServer((_req, res) => {
      res.writeHead(200, { "last-modified": "Tue, 02 Jan 2024 03:04:05 GMT" });
      res.end("downloaded\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const out = join(work, "add-url-out");
      await build({ ...dockerfile(`FROM base:1\nADD http://127.0.0.1:${port}/files/data.txt /dl/\n`), outputs: [{ type: "local", dest: out }] });
      const { statSync } = await import("node:fs");
      const st = statSync(join(out, "dl/data.txt"));
      expect(readFileSync(join(out, "dl/data.txt"), "utf8")).toBe("downloaded\n");
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.mtime.toISOString()).toBe("2024-01-02T03:04:05.000Z");
    } finally {
      server.close();
    }
  });
  it("ADD of a URL names the file as dockerfile2llb does (its path percent-decoded, Go's path.Base, __unnamed__), each download apart", async () => {
    const { createServer } = await import("node:http");
    // the server answers with the path it was asked for: which file holds which download
    const server = createServer((req, res) => res.end(`${req.url}\n`));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const out = join(work, "add-url-names");
      await build({
        ...dockerfile([
          "FROM scratch",
          `ADD ${base}/my%20file.txt ${base}/a%25b.txt ${base}/ ${base}/x%2Fy ${base}/a/./ ${base}/dir/ ${base}/q.txt?v=1#frag /d/`,
          `ADD ${base} /e/`,
          `ADD ${base}/one/same.txt ${base}/two/same.txt /f/`,
        ].join("\n")),
        outputs: [{ type: "local", dest: out }],
      });
      const files = (d: string) => Object.fromEntries(readdirSync(join(out, d)).sort().map((n) => [n, readFileSync(join(out, d, n), "utf8")]));
      // (what the modern oracle's BuildKit gave for the same URLs)
      expect(files("d")).toEqual({
        // (fetch asks for /a/./ as /a/: WHATWG URLs resolve dot segments)
        "__unnamed__": "/a/\n", "a%b.txt": "/a%25b.txt\n", dir: "/dir/\n", "my file.txt": "/my%20file.txt\n", "q.txt": "/q.txt?v=1\n", y: "/x%2Fy\n",
      });
      expect(files("e")).toEqual({ "__unnamed__": "/\n" });
      expect(files("f")).toEqual({ "same.txt": "/two/same.txt\n" }); // the last one wins, as one copy per source
      const e = await build(dockerfile(`FROM scratch\nADD ${base}/x%2F.. /g/\n`)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BuildError);
      expect(e).toMatchObject({ position: { line: 2 }, message: expect.stringContaining('the URL\'s path ends in ".."') });
      // nothing listens there any more: a typed error at the line, not fetch's TypeError
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
      const gone = `http://127.0.0.1:${(closed.address() as { port: number }).port}/nothing.txt`;
      await new Promise((r) => closed.close(r));
      const refused = await build(dockerfile(`FROM scratch\nADD ${gone} /g/\n`)).catch((x: unknown) => x);
      expect(refused).toBeInstanceOf(BuildError);
      expect(refused).toMatchObject({ position: { line: 2 }, message: `ADD ${gone}: download failed (ECONNREFUSED)` });
    } finally {
      server.close();
    }
  });
});
