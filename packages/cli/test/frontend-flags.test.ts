/** tsbuild build with `# syntax=`, BUILDKIT_* build args and --annotation, through the CLI. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers/run-cli.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-frontend-"));
const ctx = join(work, "ctx");
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (argv: string[], stdin?: Buffer) => runCli(argv, { ...(stdin ? { stdin } : {}), env: { TSBUILD_ROOT: join(work, "store") }, cwd: work });

const DOCKERFILE = [
  "# syntax=docker/dockerfile:1",
  "FROM base:1 AS build",
  "WORKDIR /src",
  "COPY app.txt .",
  "RUN --mount=type=cache,target=/root/.cache tr a-z A-Z < app.txt > upper.txt",
  "FROM base:1",
  "COPY --from=build /src/upper.txt /upper.txt",
  'ENTRYPOINT ["cat", "/upper.txt"]',
  "",
].join("\n");

beforeAll(async () => {
  const r = await run(["import", "-", "base:1", "-c", 'CMD ["sh"]'], busyboxTar(makeBusyboxRootfs(join(work, "rootfs"))));
  expect(r.code).toBe(0);
  mkdirSync(ctx);
  writeFileSync(join(ctx, "app.txt"), "shout\n");
  writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE);
}, 60_000);

describe("tsbuild build and the frontend", () => {
  it("--platform takes a comma-separated list (or several flags); each one is checked", async () => {
    const r = await run(["build", "--platform", "linux/amd64,linux/nope/x/y", "."]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("bad --platform linux/nope/x/y");
  });

  it("a Dockerfile starting with # syntax=docker/dockerfile:1 builds, with no warning", async () => {
    const r = await run(["build", "--progress=plain", "-t", "app:1", ctx]);
    expect(r.code).toBe(0);
    expect(r.err).not.toMatch(/syntax|warning/i);
    const out = await run(["run", "--rm", "app:1"]);
    expect(out.out).toBe("SHOUT\n");
  }, 60_000);
  it("another frontend image fails at line 1 with exit 2; BUILDKIT_SYNTAX overrides the directive", async () => {
    const file = join(work, "Dockerfile.other");
    writeFileSync(file, "# syntax=myregistry.example/frontend:2\nFROM base:1\n");
    const r = await run(["build", "-f", file, ctx]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Dockerfile\.other:1:1: frontend image myregistry\.example\/frontend:2 is not supported/);
    expect((await run(["build", "-q", "-f", file, "--build-arg", "BUILDKIT_SYNTAX=docker/dockerfile:1.7", ctx])).code).toBe(0);
  }, 60_000);
  it("BUILDKIT_* args are never unused; a bad boolean is a usage error", async () => {
    const r = await run(["build", "--progress=plain", "--build-arg", "BUILDKIT_INLINE_CACHE=1", "--build-arg", "BUILDKIT_CONTEXT_KEEP_GIT_DIR=1", ctx]);
    expect(r.code).toBe(0);
    expect(r.err).not.toContain("not consumed");
    const bad = await run(["build", "--build-arg", "BUILDKIT_MULTI_PLATFORM=maybe", ctx]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--build-arg BUILDKIT_MULTI_PLATFORM=maybe: invalid boolean value "maybe"');
  }, 60_000);
  it("--annotation lands in the OCI layout; what an output cannot carry is a usage error", async () => {
    const dest = join(work, "oci");
    const r = await run(["build", "-q", "--annotation", "org.opencontainers.image.title=App", "--annotation", "manifest-descriptor:d=1",
      "-o", `type=oci,dest=${dest},tar=false`, "--compression", "uncompressed", ctx]);
    expect(r.code).toBe(0);
    const index = JSON.parse(readFileSync(join(dest, "index.json"), "utf8")) as { manifests: { digest: string; annotations: unknown }[] };
    expect(index.manifests[0]?.annotations).toEqual({ d: "1" });
    const manifest = JSON.parse(readFileSync(join(dest, "blobs", "sha256", index.manifests[0]!.digest.slice(7)), "utf8")) as { annotations: unknown };
    expect(manifest.annotations).toEqual({ "org.opencontainers.image.title": "App" });
    const local = await run(["build", "--annotation", "a=b", "-o", `type=local,dest=${join(work, "l")}`, ctx]);
    expect(local.code).toBe(2);
    expect(local.err).toContain("type=local writes the root file system, not an image: it has no place for annotations");
    const index1 = await run(["build", "--annotation", "index:a=b", ctx]);
    expect(index1.code).toBe(2);
    expect(index1.err).toContain("index annotations not supported for single platform export");
    expect((await run(["build", "--annotation", "nokey", ctx])).code).toBe(2);
  }, 60_000);
});
