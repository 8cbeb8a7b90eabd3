/**
 * The frontend-level reading of a Dockerfile: which frontend `# syntax=` / BUILDKIT_SYNTAX ask for
 * (BuildKit's parser.DetectSyntax rules for which lines count), the `# check=` directive and
 * BUILDKIT_DOCKERFILE_CHECK (linter.ParseLintOptions), and the BUILDKIT_* build args BuildKit
 * reads itself.
 */
import { describe, expect, it } from "vitest";
import {
  chooseCheckOptions, chooseFrontend, DockerfileError, DOCKERFILE_SYNTAX_VERSION, findDirective, formatPlatform, hostPlatform, loadDockerfile,
  parseCheckOptions, parsePlatform, readBuilderArgs, type BuildGraph,
} from "../src/index.js";

const amd64 = { os: "linux", architecture: "amd64" };
const load = (text: string, buildArgs: Record<string, string> = {}): BuildGraph =>
  loadDockerfile(text, "Dockerfile", { platform: amd64, buildPlatform: amd64, buildArgs });
const noArgs = new Map<string, string>();

function errorOf(f: () => unknown): DockerfileError {
  try {
    f();
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error("expected a DockerfileError");
}

describe("which lines hold the syntax directive (parser.DetectSyntax)", () => {
  const syntax = (text: string) => findDirective(text, "syntax", true);
  it("the first comment lines, # with blanks after it, names case-insensitive, value cut at a blank", () => {
    expect(syntax("# syntax=docker/dockerfile:1\nFROM a\n")).toEqual({ value: "docker/dockerfile:1", cmdline: "docker/dockerfile:1", line: 1, form: "#" });
    expect(syntax("#   SYNTAX = docker/dockerfile:1.4 --opt x  \r\nFROM a\n")).toEqual({ value: "docker/dockerfile:1.4", cmdline: "docker/dockerfile:1.4 --opt x", line: 1, form: "#" });
    expect(syntax("# escape=`\n# check=skip=all\n# syntax=x/y\nFROM a\n")?.line).toBe(3);
  });
  it("after a byte-order mark and a #! line (which counts as line 1)", () => {
    expect(syntax("\ufeff# syntax=x/y\nFROM a\n")?.value).toBe("x/y");
    expect(syntax("#!/usr/bin/env tool\n# syntax=x/y\nFROM a\n")).toMatchObject({ value: "x/y", line: 2 });
  });
  it("not after another comment, an instruction, a blank line, a second directive of a name, or with blanks before #", () => {
    expect(syntax("# hello\n# syntax=x/y\nFROM a\n")).toBeUndefined();
    expect(syntax("FROM a\n# syntax=x/y\n")).toBeUndefined();
    expect(syntax("\n# syntax=x/y\nFROM a\n")).toBeUndefined();
    expect(syntax("# escape=\\\n# escape=`\n# syntax=x/y\nFROM a\n")).toBeUndefined();
    expect(syntax("  # syntax=x/y\nFROM a\n")).toBeUndefined();
    expect(syntax("# unknown=1\n# syntax=x/y\nFROM a\n")).toBeUndefined();
  });
  it("// comments and a JSON document, for syntax only", () => {
    expect(syntax("// syntax = x/y\nbody\n")).toMatchObject({ value: "x/y", form: "//", line: 1 });
    expect(syntax(' {"syntax": "x/y:1 a", "other": 1}\n')).toMatchObject({ value: "x/y:1 a", form: "json" });
    expect(findDirective("// check=skip=all\n", "check", false)).toBeUndefined();
    expect(syntax('{"syntax": 1}')).toBeUndefined();
  });
});

describe("# syntax= and BUILDKIT_SYNTAX choose tsbuild's frontend or fail", () => {
  const choose = (text: string, args: Record<string, string> = {}) => chooseFrontend(text, new Map(Object.entries(args)));
  it.each([
    "docker/dockerfile:1", "docker/dockerfile:1.7", "docker/dockerfile:1.7.1", "docker/dockerfile:1-labs", "docker/dockerfile:1.7-labs",
    "docker/dockerfile:1.4.3", "docker.io/docker/dockerfile:1", "index.docker.io/docker/dockerfile:1.2", "docker/dockerfile", "docker/dockerfile:latest",
    "docker/dockerfile:labs", `docker/dockerfile:1@sha256:${"a".repeat(64)}`, `docker/dockerfile@sha256:${"b".repeat(64)}`,
  ])("%s builds with no warning", (image) => {
    expect(choose(`# syntax=${image}\nFROM a\n`)).toMatchObject({ from: "directive", image, line: 1, warnings: [] });
  });
  it("a version newer than tsbuild's gets one warning naming both", () => {
    expect(DOCKERFILE_SYNTAX_VERSION).toBe("1.7");
    expect(choose("# syntax=docker/dockerfile:1.9-labs\nFROM a\n")).toEqual({
      from: "directive", image: "docker/dockerfile:1.9-labs", version: "1.9", line: 1,
      warnings: ["Dockerfile:1: docker/dockerfile:1.9-labs asks for Dockerfile syntax 1.9; tsbuild implements docker/dockerfile:1.7 and builds it with that (a later version's instructions and flags fail at their line)"],
    });
    expect(choose("# syntax=docker/dockerfile:1.10.0\nFROM a\n").warnings).toHaveLength(1);
    expect(load("# syntax=docker/dockerfile:1.8\nFROM a\n").warnings).toEqual([expect.stringContaining("Dockerfile syntax 1.8;")]);
  });
  it.each([
    ["tonistiigi/dockerfile:runmount20181002", "frontend image tonistiigi/dockerfile:runmount20181002 is not supported"],
    ["myregistry.example/frontend", "frontend image myregistry.example/frontend is not supported"],
    ["docker/dockerfile-upstream:master", "is not supported"],
    ["docker/dockerfile:2", "docker/dockerfile:2: there is no Dockerfile syntax 2.x"],
    ["docker/dockerfile:stable", "docker/dockerfile:stable is not a tag of docker/dockerfile tsbuild knows"],
    ["Docker/Dockerfile:1", "is not an image reference"],
  ])("%s fails at line 1", (image, message) => {
    const e = errorOf(() => load(`# syntax=${image}\nFROM a\n`));
    expect(e.code).toBe("frontend");
    expect(e.position).toEqual({ line: 1, column: 1 });
    expect(e.message).toContain(`Dockerfile:1:1: `);
    expect(e.message).toContain(message);
  });
  it("a // or JSON syntax line naming another frontend fails before the parser sees the text", () => {
    expect(errorOf(() => load("// syntax=example/frontend\nnot a dockerfile\n")).message).toMatch(/^Dockerfile:1:1: frontend image example\/frontend is not supported/);
    expect(errorOf(() => load('{"syntax": "example/frontend"}')).code).toBe("frontend");
  });
  it("BUILDKIT_SYNTAX wins over the directive (which is then not looked at)", () => {
    expect(choose("# syntax=example/frontend\nFROM a\n", { BUILDKIT_SYNTAX: "docker/dockerfile:1" })).toEqual({ from: "build-arg", image: "docker/dockerfile:1", version: "1", warnings: [] });
    expect(choose("# syntax=example/frontend\nFROM a\n", { BUILDKIT_SYNTAX: "dockerfile.v0" })).toEqual({ from: "build-arg", warnings: [] });
    expect(choose("# syntax=docker/dockerfile:1\nFROM a\n", { BUILDKIT_SYNTAX: " docker/dockerfile:1.11 x " }).warnings).toEqual([
      expect.stringMatching(/^Dockerfile \(--build-arg BUILDKIT_SYNTAX\): docker\/dockerfile:1.11 asks for Dockerfile syntax 1.11;/),
    ]);
    const e = errorOf(() => load("# syntax=docker/dockerfile:1\nFROM a\n", { BUILDKIT_SYNTAX: "example/frontend" }));
    expect(e.position).toBeUndefined();
    expect(e.message).toMatch(/^Dockerfile: --build-arg BUILDKIT_SYNTAX=example\/frontend: frontend image example\/frontend is not supported/);
    expect(errorOf(() => load("FROM a\n", { BUILDKIT_SYNTAX: " " })).message).toContain("empty BUILDKIT_SYNTAX build arg");
  });
  it("no directive: the default, and BUILDKIT_SYNTAX is not an unused arg", () => {
    expect(choose("FROM a\n")).toEqual({ from: "default", warnings: [] });
    expect(load("FROM a\n", { BUILDKIT_SYNTAX: "docker/dockerfile:1" }).warnings).toEqual([]);
  });
});

describe("# check= and BUILDKIT_DOCKERFILE_CHECK (linter.ParseLintOptions)", () => {
  it("parses skip, experimental and error", () => {
    expect(parseCheckOptions("skip=JSONArgsRecommended, StageNameCasing;error=true")).toEqual({
      ok: true, options: { skipAll: false, skip: ["JSONArgsRecommended", "StageNameCasing"], experimentalAll: false, experimental: [], error: true },
    });
    expect(parseCheckOptions("skip=all;experimental=all")).toMatchObject({ ok: true, options: { skipAll: true, experimentalAll: true } });
    expect(parseCheckOptions("")).toMatchObject({ ok: true, options: { error: false } });
  });
  it("refuses what BuildKit refuses, with its messages", () => {
    expect(parseCheckOptions("skip")).toEqual({ ok: false, message: 'invalid check option "skip"' });
    expect(parseCheckOptions("ignore=all")).toEqual({ ok: false, message: 'invalid check option "ignore"' });
    expect(parseCheckOptions("error=maybe")).toEqual({ ok: false, message: 'failed to parse check option "error=maybe": strconv.ParseBool: parsing "maybe": invalid syntax' });
  });
  it("a bad directive fails at its line; a bad build arg names itself; the build arg wins", () => {
    const e = errorOf(() => load("# syntax=docker/dockerfile:1\n# check=skip=all;colour=blue\nFROM a\n"));
    expect(e.position).toEqual({ line: 2, column: 1 });
    expect(e.message).toMatch(/^Dockerfile:2:1: failed to parse check options: invalid check option "colour"/);
    expect(errorOf(() => load("FROM a\n", { BUILDKIT_DOCKERFILE_CHECK: "error=2" })).message)
      .toMatch(/^Dockerfile: failed to parse BUILDKIT_DOCKERFILE_CHECK: failed to parse check option "error=2"/);
    expect(load("# check=colour=blue\nFROM a\n", { BUILDKIT_DOCKERFILE_CHECK: "skip=all" }).warnings).toEqual([]);
  });
  it("the directive's value is its first word; error=true is warned about (no check runs), skip is not", () => {
    expect(chooseCheckOptions("# check=skip=A error=bogus\nFROM a\n", noArgs).options.skip).toEqual(["A"]);
    expect(load("# check=skip=all\nFROM a\n").warnings).toEqual([]);
    expect(load("# check=error=true\nFROM a\n").warnings).toEqual([
      "Dockerfile:1: check error=true: tsbuild does not run BuildKit's build checks (Dockerfile 1.8+), so no check can fail this build",
    ]);
  });
  it("a check line after a non-directive comment is a comment", () => {
    expect(load("# hello\n# check=colour=blue\nFROM a\n").warnings).toEqual([]);
  });
});

describe("the BUILDKIT_* build args BuildKit reads itself", () => {
  const read = (args: Record<string, string>) => readBuilderArgs(new Map(Object.entries(args)));
  it("booleans as Go's ParseBool", () => {
    expect(read({})).toEqual({ inlineCache: false, multiPlatform: false, keepGitDir: false });
    expect(read({ BUILDKIT_INLINE_CACHE: "1", BUILDKIT_MULTI_PLATFORM: "True", BUILDKIT_CONTEXT_KEEP_GIT_DIR: "t" })).toEqual({ inlineCache: true, multiPlatform: true, keepGitDir: true });
    expect(read({ BUILDKIT_INLINE_CACHE: "0", BUILDKIT_MULTI_PLATFORM: "" })).toEqual({ inlineCache: false, multiPlatform: false, keepGitDir: false });
    const e = errorOf(() => read({ BUILDKIT_MULTI_PLATFORM: "yes" }));
    expect(e.code).toBe("build-arg");
    expect(e.message).toBe('Dockerfile: --build-arg BUILDKIT_MULTI_PLATFORM=yes: invalid boolean value "yes" (give 1 or 0 (true or false))');
  });
  it("the cache mount namespace and the sandbox hostname, as given (empty is unset, as BuildKit's dockerui)", () => {
    expect(read({ BUILDKIT_CACHE_MOUNT_NS: "team", BUILDKIT_SANDBOX_HOSTNAME: "box" })).toEqual({
      inlineCache: false, multiPlatform: false, keepGitDir: false, cacheMountNamespace: "team", sandboxHostname: "box",
    });
    // given, the default hostname is still given (BuildKit puts it in the RUN's meta, and so in its key)
    expect(read({ BUILDKIT_SANDBOX_HOSTNAME: "buildkitsandbox" }).sandboxHostname).toBe("buildkitsandbox");
    const empty = read({ BUILDKIT_SANDBOX_HOSTNAME: "", BUILDKIT_CACHE_MOUNT_NS: "" });
    expect("cacheMountNamespace" in empty || "sandboxHostname" in empty).toBe(false);
  });
  it("refuses what BuildKit removed", () => {
    expect(errorOf(() => read({ BUILDKIT_DISABLE_FILEOP: "1" })).message).toContain('support for "BUILDKIT_DISABLE_FILEOP" build-arg was removed in BuildKit 0.11');
  });
  it("they are never unused args; another BUILDKIT_* arg is an ordinary one (warned when unused, seen by an ARG)", () => {
    const g = load("FROM a\nARG BUILDKIT_OTHER_DECLARED\n", {
      BUILDKIT_INLINE_CACHE: "1", BUILDKIT_MULTI_PLATFORM: "0", BUILDKIT_CONTEXT_KEEP_GIT_DIR: "1", BUILDKIT_BUILD_NAME: "x",
      BUILDKIT_DOCKERFILE_CHECK: "skip=all", BUILDKIT_SYNTAX: "docker/dockerfile:1", BUILDKIT_UNKNOWN: "1", BUILDKIT_OTHER_DECLARED: "2",
    });
    expect(g.warnings).toEqual(["[Warning] One or more build-args [BUILDKIT_UNKNOWN] were not consumed"]);
    expect(g.builderArgs).toEqual({ inlineCache: true, multiPlatform: false, keepGitDir: true });
  });
});

describe("--platform as BuildKit normalizes it (what TARGETPLATFORM says, checked against BuildKit 0.13)", () => {
  it.each([
    ["linux/arm", "linux/arm/v7"], ["linux/arm64/v8", "linux/arm64"], ["linux/amd64/v1", "linux/amd64"], ["linux/x86_64", "linux/amd64"],
    ["linux/aarch64", "linux/arm64"], ["linux/armhf", "linux/arm/v7"], ["linux/armel", "linux/arm/v6"], ["linux/arm/v6", "linux/arm/v6"],
    ["LINUX/AMD64", "linux/amd64"], ["linux/arm/7", "linux/arm/v7"], ["linux/arm64/9", "linux/arm64/9"], ["linux/i386", "linux/386"],
    ["arm64", "linux/arm64"], ["i386", "linux/386"], ["macos/arm64", "darwin/arm64"],
  ])("%s is %s", (given, want) => {
    expect(formatPlatform(parsePlatform(given)!)).toBe(want);
  });
  it("an OS alone takes this host's architecture; nonsense is refused", () => {
    expect(parsePlatform("linux")).toEqual({ os: "linux", architecture: hostPlatform().architecture });
    expect(parsePlatform("nonsense")).toBeUndefined();
    expect(parsePlatform("linux/amd64/v2/x")).toBeUndefined();
    expect(parsePlatform("linux//amd64")).toBeUndefined();
  });
  it("TARGETVARIANT of --platform linux/arm is v7, as BuildKit's", () => {
    const g = loadDockerfile("FROM a\n", "Dockerfile", { platform: parsePlatform("linux/arm")!, buildPlatform: amd64 });
    expect(g.targetPlatform).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
  });
});
