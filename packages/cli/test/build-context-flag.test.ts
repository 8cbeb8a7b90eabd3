/**
 * `tsbuild build --build-context NAME=VALUE` (repeatable): a directory relative to the working
 * directory, names normalised as buildx stores them, `--metadata-file` naming the contexts used,
 * and buildx's errors for bad values.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers/run-cli.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";
import { parseBuildContexts } from "../src/build-context-spec.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-build-context-"));
const root = join(work, "store");
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  await storeBaseImage(root, "base:1", busyboxTar(makeBusyboxRootfs(join(work, "rootfs"))));
  mkdirSync(join(work, "ctx"));
  mkdirSync(join(work, "other"));
  writeFileSync(join(work, "other", "o.txt"), "other\n");
  writeFileSync(join(work, "ctx", "Dockerfile"), "FROM busybox\nCOPY --from=other /o.txt /o.txt\n");
}, 60_000);

const run = (argv: string[]) => runCli(["build", "--root", root, "--platform", "linux/amd64", "--progress", "plain", ...argv], { cwd: work });

describe("tsbuild build --build-context", () => {
  it("a relative directory and docker-image:// (the name docker.io/library/busybox:latest is busybox)", async () => {
    const out = join(work, "out");
    const r = await run(["--build-context", "other=./other", "--build-context=docker.io/library/busybox:latest=docker-image://base:1", "-o", `type=local,dest=${out}`, "--metadata-file", "meta.json", "ctx"]);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(join(out, "o.txt"), "utf8")).toBe("other\n");
    expect(r.err).toContain(`[context other=${join(work, "other")}] context:sha256:`);
    const meta = JSON.parse(readFileSync(join(work, "meta.json"), "utf8")) as { contexts: { name: string }[] };
    expect(meta.contexts.map((c) => c.name)).toEqual(["busybox", "other"]);
  });
  it("bad values are errors, worded as buildx words them", async () => {
    const noEq = await run(["--build-context", "other", "ctx"]);
    expect(noEq.code).toBe(2);
    expect(noEq.err).toContain("invalid context value: other, expected key=value");
    const target = await run(["--build-context", "other=target:base", "ctx"]);
    expect(target.code).toBe(2);
    expect(target.err).toContain("failed to find target base for context");
    const missing = await run(["--build-context", "other=./nowhere", "--build-context", "busybox=docker-image://base:1", "ctx"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("failed to get build context other");
    const remote = await run(["--build-context", "other=http://127.0.0.1:1/file.tar", "--build-context", "busybox=docker-image://base:1", "ctx"]);
    expect(remote.code).not.toBe(0);
    expect(remote.err).toContain("failed to get build context other=http://127.0.0.1:1/file.tar");
  });
  it("a later flag for the same name wins; empty values are skipped", () => {
    expect(parseBuildContexts(["", "a=./x", "a=docker-image://busybox"], "/w")).toEqual({ a: { kind: "image", ref: "busybox" } });
    expect(() => parseBuildContexts(["UP=./x"], "/w")).toThrow(/invalid context name UP/);
  });
});
