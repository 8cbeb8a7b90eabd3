import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers/run-cli.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { parseDuration, parseSize } from "../src/units.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-prune-"));
const root = join(work, "store");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = (argv: string[], stdin?: Buffer) => runCli(argv, { ...(stdin ? { stdin } : {}), env: { TSBUILD_ROOT: root }, cwd: work });
const ctx = join(work, "ctx");

beforeAll(async () => {
  const r = await run(["import", "-", "base:1", "-c", 'CMD ["sh"]'], busyboxTar(makeBusyboxRootfs(join(work, "rootfs"))));
  expect(r.code).toBe(0);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "Dockerfile"), "FROM base:1\nRUN head -c 100000 /dev/urandom > /r.bin\n");
  const b = await run(["build", "--progress", "plain", ctx]);
  expect(b.err).toMatch(/RUN head/);
  expect(b.code).toBe(0);
}, 60_000);

describe("tsbuild du and prune", () => {
  it("du lists images, build cache, snapshots, cache mounts and totals", async () => {
    const r = await run(["du"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^TYPE\s+COUNT\s+SIZE\s+RECLAIMABLE\n/);
    for (const t of ["Images", "Blobs", "Build cache", "Snapshots", "Cache mounts", "Leftovers", "Total"]) expect(r.out).toMatch(new RegExp(`^${t}\\s`, "m"));
    expect(r.out).toMatch(/^Build cache\s+1\s+1\d\dkB\s+1\d\dkB \(100%\)$/m);
  });

  it("prune --all reports what it reclaimed; the build cache is empty after, the image stays", async () => {
    const r = await run(["prune", "--all"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Deleted build cache records: 1$/m);
    expect(r.out).toMatch(/^Total reclaimed space: \d+(\.\d+)?[kM]B$/m);
    expect(readdirSync(join(root, "cache", "records"))).toEqual([]);
    expect((await run(["du"])).out).toMatch(/^Build cache\s+0\s+0B\s+0B$/m);
    expect((await run(["store", "check"])).code).toBe(0);
    expect((await run(["inspect", "base:1"])).code).toBe(0);
    const again = await run(["prune"]);
    expect(again.out).toMatch(/^Total reclaimed space: 0B$/m);
  });

  it("--filter until= and --keep-storage are parsed; bad values are usage errors", async () => {
    expect((await run(["prune", "--filter", "until=24h", "--keep-storage", "5GB"])).code).toBe(0);
    for (const bad of [["--filter", "until=tomorrow"], ["--filter", "label=x"], ["--keep-storage", "lots"], ["extra"]]) {
      const r = await run(["prune", ...bad]);
      expect(r.code, bad.join(" ")).toBe(2);
      expect(r.err).toMatch(/usage: tsbuild prune/);
    }
  });

  it("sizes and durations read as docker reads them", () => {
    expect(parseSize("5GB")).toBe(5 * 1024 ** 3);
    expect(parseSize("512m")).toBe(512 * 1024 ** 2);
    expect(parseSize("1000")).toBe(1000);
    expect(parseDuration("24h")).toBe(86_400_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(() => parseDuration("1d")).toThrow(/invalid duration/);
  });
});
