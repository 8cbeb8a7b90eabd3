/**
 * Sources BuildKit reads as git repositories (gitutil.ParseGitRef in Dockerfile 1.7): COPY refuses
 * them at the line, as BuildKit does ("source can't be a git ref for COPY"); ADD says it does not
 * clone yet, instead of fetching the URL as a file or looking for it in the context.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, BuildError } from "../src/index.js";
import { isGitSource } from "../src/copy/git-source.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";

describe("isGitSource, as BuildKit 1.7's ParseGitRef", () => {
  it.each([
    ["https://github.com/moby/buildkit.git", true],
    ["https://github.com/moby/buildkit.git#v0.13.2:docs", true],
    ["https://host/org/repo.git?ref=main&subdir=x", true],
    ["HTTP://host/repo.git", true],
    ["https://host/archive.tar.gz", false],
    ["https://host/repo.git/", false],
    ["https://host/x?f=a.git", false],
    ["git://host/repo", true],
    ["ssh://git@host/repo", true],
    ["git@github.com:moby/buildkit.git", true],
    ["git@github.com:moby/buildkit#main", true],
    ["ftp://host/repo.git", false],
    ["github.com/moby/buildkit.git", false],
    ["vendor/lib.git", true],
    ["/usr/lib/foo.git", true],
    ["./vendor/lib.git", false],
    ["../x.git", false],
    ["repo.git", false],
    ["src", false],
    ["*.git", false],
    ["a@b", false],
  ])("%s → %s", (src, want) => {
    expect(isGitSource(src)).toBe(want);
  });
});

describe("COPY and ADD of a git source", () => {
  const work = mkdtempSync(join(tmpdir(), "tsbuild-git-source-"));
  const root = join(work, "store");
  const ctx = join(work, "ctx");
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  beforeAll(async () => {
    await storeBusyboxBase(root, "base:1", work);
    mkdirSync(join(ctx, "vendor/lib.git"), { recursive: true });
    writeFileSync(join(ctx, "vendor/lib.git/f"), "x\n");
  }, 60_000);
  const dockerfile = (text: string) => ({ context: ctx, dockerfileText: text, root, platform: { os: "linux", architecture: "amd64" } });
  const failure = async (text: string) => (await build(dockerfile(text)).catch((x: unknown) => x)) as BuildError;

  it("COPY of a path that reads as a git URL fails at its line, saying how to name the path", async () => {
    const e = await failure("FROM base:1\nCOPY vendor/lib.git /x/\n");
    expect(e).toBeInstanceOf(BuildError);
    expect(e.position?.line).toBe(2);
    expect(e.message).toContain("source can't be a git ref for COPY");
    expect(e.message).toContain("./vendor/lib.git");
  });
  it("COPY ./vendor/lib.git is a context path and builds", async () => {
    await expect(build(dockerfile("FROM base:1\nCOPY ./vendor/lib.git /x/\n"))).resolves.toBeDefined();
  });
  it.each([
    ["https://127.0.0.1:9/org/repo.git#main", /failed to fetch remote https:\/\/127\.0\.0\.1:9\/org\/repo\.git/],
    ["git@127.0.0.1:org/repo.git", /needs an ssh agent/],
    ["vendor/lib.git", /failed to fetch remote https:\/\/vendor\/lib\.git/],
  ] as const)("ADD %s is cloned as a git repository (add-git.test.ts): a remote that cannot be reached fails at its line", async (src, message) => {
    const e = await failure(`FROM base:1\nADD ${src} /x/\n`);
    expect(e.position?.line).toBe(2);
    expect(e.message).toMatch(message);
  });
});
