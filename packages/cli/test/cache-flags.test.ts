import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers/run-cli.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-cache-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let baseTar: Buffer;

/** A store with the same base image (same manifest digest) as every other one made here. */
async function storeWithBase(name: string): Promise<string> {
  const root = join(work, name);
  await storeBaseImage(root, "base:1", baseTar);
  return root;
}

beforeAll(() => {
  baseTar = busyboxTar(makeBusyboxRootfs(join(work, "rootfs")));
  mkdirSync(join(work, "ctx"));
  writeFileSync(join(work, "ctx", "a.txt"), "a\n");
  writeFileSync(join(work, "ctx", "Dockerfile"), "FROM base:1\nCOPY a.txt /a.txt\n");
}, 60_000);

const run = (argv: string[]) => runCli(["build", "--platform", "linux/amd64", "--progress", "plain", ...argv], { cwd: work, env: {} });

describe("tsbuild build --cache-from / --cache-to", () => {
  it.each([
    [["--cache-to", "type=local"], "--cache-to type=local: type=local needs dest=DIR"],
    [["--cache-to", "type=s3,bucket=b"], "--cache-to type=s3,bucket=b: unknown type=s3 (use local, registry or inline)"],
    [["--cache-to", "type=registry,ref=r/c,mode=all"], "--cache-to type=registry,ref=r/c,mode=all: mode=all: use mode=min or mode=max"],
    [["--cache-from", "type=local,dest=x"], "--cache-from type=local,dest=x: unknown option dest= (use type=, src=)"],
    [["--cache-from", "type=local"], "--cache-from type=local: type=local needs src=DIR"],
  ])("%j is a usage error (exit 2)", async (flags, message) => {
    const r = await run([...flags, "ctx"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`tsbuild build: ${message}\nusage: tsbuild [build] [-t NAME]... [-f FILE] [--build-arg K=V]... [--target S] [-o SPEC] [OPTIONS] CONTEXT\n`);
  });

  it("relative cache directories are taken from the working directory; repeated flags all apply", async () => {
    const a = await storeWithBase("store-a");
    const first = await run(["--root", a, "--cache-to", "type=local,dest=ci-cache", "--cache-to", "type=local,dest=ci-cache-2,mode=max", "--iidfile", "id-a", "ctx"]);
    expect(first.code).toBe(0);
    expect(first.err).toMatch(/exported local cache .*\/ci-cache \(mode=min: 1 records, 1 layers\)\n/);
    expect(first.err).toMatch(/exported local cache .*\/ci-cache-2 \(mode=max: 1 records, 1 layers\)\n/);
    const b = await storeWithBase("store-b");
    const second = await run(["--root", b, "--cache-from", "type=local,src=missing", "--cache-from", "type=local,src=ci-cache", "--metadata-file", "meta.json", "--iidfile", "id-b", "ctx"]);
    expect(second.code).toBe(0);
    expect(second.err).toMatch(/local cache .*\/missing is not used: .*no index.json/);
    const meta = JSON.parse(readFileSync(join(work, "meta.json"), "utf8"));
    expect(meta.steps.map((s: { instruction: string; cached: boolean }) => [s.instruction, s.cached])).toEqual([["COPY a.txt /a.txt", true]]);
    expect(readFileSync(join(work, "id-b"), "utf8")).toBe(readFileSync(join(work, "id-a"), "utf8"));
  });
});
