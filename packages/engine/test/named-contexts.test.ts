/**
 * Named build contexts (--build-context, BuildOptions.buildContexts), built for real on the
 * busybox base: a directory read through its own .dockerignore in COPY --from and RUN --mount
 * from=, a stage replaced (its instructions never run), an image name replaced in FROM by an image
 * of the store, of a loopback registry and of an OCI layout a build wrote; the cache keyed by what a
 * COPY selects from the directory; the values and names buildx refuses.
 */
import { describe, expect, it, afterAll } from "vitest";
import { lstatSync, mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { createServer } from "node:http";
import { buildHarness } from "./helpers/build-harness.js";
import { makeGitFixtures, startGitDaemon } from "./helpers/git-servers.js";
import { startRegistry, type RegistryServer } from "../../registry/test/helpers/registry-server.js";
import { BuildContextError, NotSupportedError, parseContextValue, checkContextName, contextKey, type BuildEvent } from "../src/index.js";
import { Store } from "@tsbuild/oci";

const { work, root, ctx, buildText } = buildHarness("tsbuild-named-ctx-");

/** A directory context: a.txt, sub/s.txt, ignored.txt left out by its own .dockerignore. */
function makeDir(name: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, "sub"), { recursive: true });
  writeFileSync(join(dir, "a.txt"), "a from the named context\n");
  writeFileSync(join(dir, "sub", "s.txt"), "s\n", { mode: 0o640 });
  writeFileSync(join(dir, "ignored.txt"), "never copied\n");
  writeFileSync(join(dir, ".dockerignore"), "ignored.txt\n");
  return dir;
}

let registry: RegistryServer | undefined;
afterAll(async () => {
  await registry?.stop();
});

describe("a directory as a named context", () => {
  it("COPY --from and RUN --mount from= read it through its own .dockerignore, as root-owned files", async () => {
    const dir = makeDir("extra");
    // the main context's .dockerignore does not apply to the named context
    writeFileSync(join(ctx, ".dockerignore"), "a.txt\n");
    const events: BuildEvent[] = [];
    const { r, out } = await buildText(`FROM base:1
COPY --from=extra / /x/
RUN --mount=from=extra,target=/mnt ls -A /mnt > /mounted.txt && cat /mnt/a.txt >> /mounted.txt
RUN --mount=type=bind,from=extra,source=sub,target=/s cat /s/s.txt > /sub.txt
`, { buildContexts: { extra: dir }, onEvent: (e) => events.push(e) });
    expect(readFileSync(join(out, "x/a.txt"), "utf8")).toBe("a from the named context\n");
    expect(existsSync(join(out, "x/ignored.txt"))).toBe(false);
    expect(existsSync(join(out, "x/.dockerignore"))).toBe(true);
    expect(statSync(join(out, "x/sub/s.txt")).mode & 0o777).toBe(0o640);
    expect(lstatSync(join(out, "x/sub/s.txt")).uid).toBe(0);
    expect(readFileSync(join(out, "mounted.txt"), "utf8")).toBe(".dockerignore\na.txt\nsub\na from the named context\n");
    expect(readFileSync(join(out, "sub.txt"), "utf8")).toBe("s\n");
    expect(r.contexts).toEqual([{ name: "extra", what: `context extra=${dir}`, identity: expect.stringMatching(/^context:sha256:[0-9a-f]{64}$/) }]);
    expect(events.some((e) => e.type === "context" && e.name === "extra")).toBe(true);
  }, 60_000);

  it("a COPY from it is keyed by what it selects: an unselected file changed hits, the selected one misses", async () => {
    const dir = makeDir("keyed");
    const text = "FROM base:1\nCOPY --from=keyed /a.txt /a.txt\n";
    const opts = { buildContexts: { keyed: dir } };
    const first = await buildText(text, opts);
    expect(first.r.steps.map((s) => s.cached)).toEqual([false]);
    writeFileSync(join(dir, "sub", "s.txt"), "changed, not selected\n");
    writeFileSync(join(dir, "ignored.txt"), "changed, ignored\n");
    expect((await buildText(text, opts)).r.steps.map((s) => s.cached)).toEqual([true]);
    writeFileSync(join(dir, "a.txt"), "selected, changed\n");
    const third = await buildText(text, { ...opts, explain: true });
    expect(third.r.steps.map((s) => s.cached)).toEqual([false]);
    expect(third.r.steps[0]?.explain).toMatch(/a\.txt/);
    expect(readFileSync(join(third.out, "a.txt"), "utf8")).toBe("selected, changed\n");
  }, 60_000);

  it("replaces the stage of its name (its instructions never run) and is the root of a FROM (no config of its own)", async () => {
    const dir = makeDir("stagedir");
    const { r, out } = await buildText(`FROM base:1 AS builder
RUN false
FROM base:1
COPY --from=builder /a.txt /built.txt
`, { buildContexts: { builder: dir } });
    expect(readFileSync(join(out, "built.txt"), "utf8")).toBe("a from the named context\n");
    expect(r.steps.map((s) => s.instruction)).toEqual(["COPY --from=builder /a.txt /built.txt"]);
    // FROM NAME: the directory is the root file system, as BuildKit's empty image (PATH, WorkingDir /)
    const store = await Store.open(root);
    const configOf = async (id: string) => JSON.parse((await store.content.readBytes(id as `sha256:${string}`)).toString()) as { config?: Record<string, unknown>; history?: { comment?: string }[] };
    const fromDir = await buildText("FROM rootdir\n", { buildContexts: { rootdir: dir } });
    expect(readFileSync(join(fromDir.out, "a.txt"), "utf8")).toBe("a from the named context\n");
    expect(existsSync(join(fromDir.out, "ignored.txt"))).toBe(false);
    const cfg = await configOf(fromDir.r.imageId);
    expect(cfg.config).toEqual({ Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], WorkingDir: "/" });
    expect(cfg.history?.map((h) => h.comment)).toEqual(["buildkit.exporter.image.v0"]);
    // the replaced stage as the target: no config at all (BuildKit's zero image)
    const asTarget = await buildText("FROM base:1 AS builder\nRUN false\n", { buildContexts: { builder: dir } });
    expect((await configOf(asTarget.r.imageId)).config ?? {}).toEqual({});
  }, 60_000);

  it("a context nothing uses is fine, with no warning (as BuildKit)", async () => {
    const { r } = await buildText("FROM base:1\nRUN echo x > /x\n", { buildContexts: { unused: makeDir("unused") } });
    expect(r.warnings).toEqual([]);
    expect(r.contexts).toEqual([]);
  }, 60_000);

  it("a missing directory fails before any step, as buildx words it", async () => {
    await expect(buildText("FROM base:1\n", { buildContexts: { gone: join(work, "no-such-dir") } })).rejects.toThrow(/failed to get build context gone: no such directory/);
    writeFileSync(join(work, "a-file"), "x");
    await expect(buildText("FROM base:1\n", { buildContexts: { f: join(work, "a-file") } })).rejects.toThrow(/failed to get build context path f=.*: not a directory/);
  });
});

describe("an image as a named context", () => {
  it("FROM busybox, FROM docker.io/library/busybox:latest and COPY --from=alpine:3.19 take the image given (docker-image:// of the store)", async () => {
    const { r, out } = await buildText(`FROM alpine:3.19 AS second
RUN echo second > /second.txt
FROM docker.io/library/busybox:latest
COPY --from=second /second.txt /second.txt
COPY --from=alpine:3.19 /bin/busybox /copied-busybox
`, { buildContexts: { busybox: "docker-image://base:1", "alpine:3.19": { kind: "image", ref: "base:1" } } });
    expect(readFileSync(join(out, "second.txt"), "utf8")).toBe("second\n");
    expect(statSync(join(out, "copied-busybox")).size).toBe(statSync(join(out, "bin/busybox")).size);
    const store = await Store.open(root);
    const base = await store.images.get("base:1");
    expect(r.contexts.map((c) => c.name)).toEqual(["alpine:3.19", "busybox"]);
    expect(r.contexts[0]?.identity).toMatch(/^image:sha256:/);
    expect(base).toBeDefined();
  }, 60_000);

  it("docker-image:// of a loopback registry is pulled for the build's platform", async () => {
    registry = await startRegistry();
    const ref = `${registry.host}/bb:1`;
    // put base:1 into the registry through a build's push
    await buildText("FROM base:1\n", { tags: [ref], outputs: [{ type: "image", push: true }] });
    const { r, out } = await buildText("FROM busybox\nRUN echo pulled > /p.txt\n", { buildContexts: { busybox: `docker-image://${ref}` } });
    expect(readFileSync(join(out, "p.txt"), "utf8")).toBe("pulled\n");
    expect(r.warnings.join("\n")).toBe("");
  }, 60_000);

  it("oci-layout:// of a layout a build wrote (-o type=oci,tar=false), by tag and by digest, verified as it is read", async () => {
    const layout = join(work, "layout");
    await buildText("FROM base:1\nRUN echo from-layout > /layout.txt\n", { tags: ["made:1"], outputs: [{ type: "oci", dest: layout, tar: false }] });
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    const digest = index.manifests[0]!.digest;
    const byOnly = await buildText("FROM other\nRUN cat /layout.txt > /read.txt\n", { buildContexts: { other: `oci-layout://${layout}` } });
    expect(readFileSync(join(byOnly.out, "read.txt"), "utf8")).toBe("from-layout\n");
    const byDigest = await buildText("FROM base:1\nCOPY --from=other /layout.txt /copied.txt\n", { buildContexts: { other: `oci-layout://${layout}@${digest}` } });
    expect(readFileSync(join(byDigest.out, "copied.txt"), "utf8")).toBe("from-layout\n");
    expect(byDigest.r.contexts[0]?.identity).toMatch(/^oci-layout:sha256:[0-9a-f]{64}$/);
    // a tag index.json does not name: its only image (buildx's GetSingle), else an error
    expect((await buildText("FROM other\n", { buildContexts: { other: `oci-layout://${layout}:nosuchtag` } })).r.contexts[0]?.identity).toBe(`oci-layout:${digest}`);
    const first = index.manifests[0]!;
    writeFileSync(join(layout, "index.json"), JSON.stringify({ ...index, manifests: [first, { ...first, annotations: { ...first.annotations, "org.opencontainers.image.ref.name": "2" } }] }));
    expect((await buildText("FROM other\n", { buildContexts: { other: `oci-layout://${layout}:2` } })).r.contexts[0]?.identity).toBe(`oci-layout:${digest}`);
    await expect(buildText("FROM other\n", { buildContexts: { other: `oci-layout://${layout}:nosuchtag` } })).rejects.toThrow(/could not be resolved: failed to resolve digest/);
    // what the layout holds is verified as it is read: a changed blob is refused
    const layer = JSON.parse(readFileSync(join(layout, "blobs", ...digest.split(":")), "utf8")) as { layers: { digest: string }[] };
    const blob = join(layout, "blobs", ...layer.layers.at(-1)!.digest.split(":"));
    const bytes = readFileSync(blob);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(blob, bytes);
    await expect(buildText("FROM other\n", { buildContexts: { other: `oci-layout://${layout}:2` } })).rejects.toThrow(/digest|corrupt|does not match/i);
  }, 60_000);
});

describe("values and names", () => {
  it("reads values as buildx does", () => {
    expect(parseContextValue("./dir", "/w")).toEqual({ kind: "local", dir: "/w/dir" });
    expect(parseContextValue("/abs", "/w")).toEqual({ kind: "local", dir: "/abs" });
    expect(parseContextValue("docker-image://busybox:1.36", "/w")).toEqual({ kind: "image", ref: "busybox:1.36" });
    expect(parseContextValue("oci-layout://./l", "/w")).toEqual({ kind: "oci-layout", path: "/w/l", tag: "latest" });
    expect(parseContextValue("oci-layout:///l:v1", "/w")).toEqual({ kind: "oci-layout", path: "/l", tag: "v1" });
    const d = `sha256:${"a".repeat(64)}`;
    expect(parseContextValue(`oci-layout:///l@${d}`, "/w")).toEqual({ kind: "oci-layout", path: "/l", digest: d });
    expect(parseContextValue("https://example.com/repo.git#main:sub", "/w")).toEqual({ kind: "git", url: "https://example.com/repo.git#main:sub" });
    expect(parseContextValue("git@example.com:org/repo", "/w")).toEqual({ kind: "git", url: "git@example.com:org/repo" });
    expect(parseContextValue("https://example.com/ctx.tar.gz", "/w")).toEqual({ kind: "http", url: "https://example.com/ctx.tar.gz" });
    expect(() => parseContextValue("target:base", "/w")).toThrow(/failed to find target base for context.*bake/);
    expect(() => parseContextValue("docker-image://Bad Ref", "/w")).toThrow(BuildContextError);
    expect(() => parseContextValue("ftp://user:pw@x/y", "/w")).toThrow(/unsupported context source ftp in ftp:\/\/x\/y/);
  });

  it("names are looked up as BuildKit normalises them", () => {
    expect(contextKey("docker.io/library/busybox:latest")).toBe("busybox");
    expect(contextKey("busybox:1.36")).toBe("busybox:1.36");
    expect(contextKey("localhost:5000/app:latest")).toBe("localhost:5000/app");
    expect(() => checkContextName("Not Valid")).toThrow(/invalid context name Not Valid/);
  });

  it("a git context is fetched as ADD fetches one (git daemon on 127.0.0.1): its ref and subdirectory, keyed by the commit", async () => {
    const fx = makeGitFixtures(join(work, "git"));
    const daemon = await startGitDaemon(fx.base);
    try {
      const { out, r } = await buildText("FROM base:1\nCOPY --from=remote / /r/\n", { buildContexts: { remote: `${daemon.url}/repo.git#other:dir` } });
      expect(readFileSync(join(out, "r/deep/f"), "utf8")).toBe(readFileSync(join(fx.work, "repo/dir/deep/f"), "utf8"));
      expect(existsSync(join(out, "r/a.txt"))).toBe(false);
      expect(r.contexts.map((c) => c.identity)).toEqual([expect.stringMatching(new RegExp(`^context:git:${fx.three}:dir:sha256:`))]);
    } finally {
      await daemon.stop();
    }
    // an http(s) download context: the one file, 0600, named by Content-Disposition or the URL's path
    const server = createServer((req, res) => {
      res.writeHead(200, { "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT", ...(req.url === "/cd" ? { "Content-Disposition": 'attachment; filename="named.txt"' } : {}) });
      res.end(req.url === "/dl/data.txt" ? "downloaded\n" : "");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as { port: number }).port;
      const { out } = await buildText("FROM base:1\nCOPY --from=remote / /d/\n", { buildContexts: { remote: `http://127.0.0.1:${port}/dl/data.txt` } });
      expect(readFileSync(join(out, "d/data.txt"), "utf8")).toBe("downloaded\n");
      expect(statSync(join(out, "d/data.txt")).mode & 0o777).toBe(0o600);
      // named as BuildKit's http source names it: Content-Disposition's filename first
      const cd = await buildText("FROM base:1\nCOPY --from=remote / /d/\n", { buildContexts: { remote: `http://127.0.0.1:${port}/cd` } });
      expect(existsSync(join(cd.out, "d/named.txt"))).toBe(true);
      expect(existsSync(join(cd.out, "d/cd"))).toBe(false);
    } finally {
      await new Promise((r) => server.close(r));
    }
    // an unreachable git remote fails with no credential shown
    const e = await buildText("FROM base:1\nCOPY --from=remote / /r/\n", { buildContexts: { remote: "http://user:tok3n@127.0.0.1:1/repo.git" } }).catch((x: unknown) => x as Error);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).not.toContain("tok3n");
  }, 60_000);
});
