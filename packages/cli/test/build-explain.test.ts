/** tsbuild build --explain: the misses and their reasons, in the plain progress and after the build. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers/run-cli.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-explain-"));
const ctx = join(work, "ctx");
afterAll(() => rmSync(work, { recursive: true, force: true }));
const run = (argv: string[], stdin?: Buffer) => runCli(argv, { ...(stdin ? { stdin } : {}), env: { TSBUILD_ROOT: join(work, "store") }, cwd: work });

beforeAll(async () => {
  const r = await run(["import", "-", "base:1", "-c", 'CMD ["sh"]'], busyboxTar(makeBusyboxRootfs(join(work, "rootfs"))));
  expect(r.code).toBe(0);
  mkdirSync(ctx);
  writeFileSync(join(ctx, "app.txt"), "one\n");
  writeFileSync(join(ctx, "Dockerfile"), "FROM base:1\nCOPY app.txt /app.txt\nRUN wc -c /app.txt > /size\n");
}, 60_000);

describe("tsbuild build --explain", () => {
  it("prints why each step missed, then a summary", async () => {
    expect((await run(["build", "--progress=plain", "-t", "app:1", ctx])).code).toBe(0);
    expect((await run(["build", "--progress=plain", "--explain", ctx])).err).toContain("explain: every step came from the cache\n");
    writeFileSync(join(ctx, "app.txt"), "two\n");
    const r = await run(["build", "--progress=plain", "--explain", ctx]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^#\d+ MISS COPY app.txt \/app.txt: app.txt changed$/m);
    expect(r.err).toContain([
      "explain: 2 steps missed the cache:",
      "  Dockerfile:2  COPY app.txt /app.txt: app.txt changed",
      "  Dockerfile:3  RUN wc -c /app.txt > /size: the step before it was rebuilt (Dockerfile:2 COPY app.txt /app.txt)",
    ].join("\n"));
  });
});

describe("SOURCE_DATE_EPOCH as a build arg", () => {
  it("clamps times like the environment variable, without an unused-arg warning", async () => {
    const a = await run(["build", "-q", "--no-cache", "--build-arg", "SOURCE_DATE_EPOCH=1700000000", ctx]);
    const b = await runCli(["build", "-q", "--no-cache", ctx], { env: { TSBUILD_ROOT: join(work, "store"), SOURCE_DATE_EPOCH: "1700000000" }, cwd: work });
    expect(a.code).toBe(0);
    expect(a.err).not.toContain("not consumed");
    expect(a.out.trim()).toMatch(/^sha256:/);
    expect(b.out).toBe(a.out);
    expect((await run(["build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=yesterday", ctx])).code).toBe(2);
  });
});

describe("a relative --root", () => {
  it("is taken from the working directory (runc and overlay need absolute paths)", async () => {
    const rel = (argv: string[], stdin?: Buffer) => runCli(argv, { ...(stdin ? { stdin } : {}), env: {}, cwd: work });
    expect((await rel(["import", "--root", "rel-store", "-", "base:1"], busyboxTar(makeBusyboxRootfs(join(work, "rootfs-rel"))))).code).toBe(0);
    const b = await rel(["build", "--root", "rel-store", "-q", "ctx"]);
    expect(b.err).toBe("");
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/^sha256:/);
  });
});
