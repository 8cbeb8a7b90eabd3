/**
 * COPY --parents (Dockerfile 1.20), COPY/ADD --exclude (1.19), symbolic --chmod (1.14) and ADD
 * --unpack (1.17): newer than the oracle's frontend (1.7, which refuses them), so the expected
 * trees come from BuildKit's reference and its frontend tests (dockerfile_parents_test.go,
 * exclude_patterns_test.go) and its copy engine's rules (fsutil's copy with include and exclude
 * patterns). Every build checks the exact tree it gives: paths, types, modes, owners, contents.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build, type BuildResult } from "../src/index.js";
import { canaryState, makeCanary, CANARY_NAME, CANARY_SECRET } from "./helpers/canary.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-copyflags-"));
const store = join(work, "store");
const platform = { os: "linux", architecture: "amd64" };
let outs = 0;
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Files to make: path → content (a string: a file, "/" at the end of the path: a directory, { link }: a symlink), with modes. */
type Spec = Record<string, string | { link: string } | { mode: number; content?: string }>;

function makeTree(dir: string, spec: Spec): void {
  mkdirSync(dir, { recursive: true });
  for (const [p, v] of Object.entries(spec)) {
    const abs = join(dir, p);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof v === "object" && "link" in v) symlinkSync(v.link, abs);
    else if (p.endsWith("/")) mkdirSync(abs, { recursive: true });
    else writeFileSync(abs, typeof v === "string" ? v : (v.content ?? ""));
  }
  // modes last (a directory made 0700 above its files)
  for (const [p, v] of Object.entries(spec)) {
    const abs = join(dir, p);
    if (typeof v === "object" && "mode" in v) chmodSync(abs, v.mode);
    else if (typeof v === "string") chmodSync(abs, p.endsWith("/") ? 0o755 : 0o644);
  }
}

/** Every entry below `dir`: "path type mode uid:gid content-or-target" (directories "path/"). */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const abs = join(dir, r);
      const st = lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
      if (st.isDirectory()) {
        out.push(`${r}/ ${mode} ${st.uid}:${st.gid}`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(abs)} ${st.uid}:${st.gid}`);
      else out.push(`${r} ${mode} ${st.uid}:${st.gid} ${JSON.stringify(readFileSync(abs, "utf8"))}`);
    }
  };
  walk("");
  return out;
}

/** The tree below `sub` of an output, paths relative to it. */
const under = (lines: string[], sub: string): string[] => lines.filter((l) => l.startsWith(`${sub}/`) && !l.startsWith(`${sub}/ `)).map((l) => l.slice(sub.length + 1));

async function run(context: string, dockerfile: string, extra: { buildArgs?: Record<string, string> } = {}): Promise<{ out: string; result?: BuildResult; error?: Error }> {
  const out = join(work, `out-${++outs}`);
  try {
    const result = await build({ context, root: store, platform, dockerfileText: dockerfile, outputs: [{ type: "local", dest: out }], ...extra });
    return { out, result };
  } catch (e) {
    return { out, error: e as Error };
  }
}

async function ok(context: string, dockerfile: string): Promise<{ lines: string[]; result: BuildResult }> {
  const r = await run(context, dockerfile);
  if (r.error) throw r.error;
  return { lines: tree(r.out), result: r.result as BuildResult };
}

const steps = (r: BuildResult): string[] => r.steps.filter((s) => /^(COPY|ADD)/.test(s.instruction)).map((s) => `${s.cached ? "cached" : "ran"} ${s.instruction}`);

describe("COPY --parents", () => {
  const ctx = join(work, "parents");
  beforeAll(() => makeTree(ctx, {
    "foo1/": { mode: 0o700 }, "foo1/foo2/": { mode: 0o700 },
    "foo1/foo2/bar": { mode: 0o600, content: "testing" }, "foo1/foo2/baz": { mode: 0o600, content: "testing2" },
    "x/a.txt": "xa", "y/a.txt": "ya", "x/y/a.txt": "xya", "x/y/b.txt": "xyb", "x/y/c.md": "xyc",
    "src/a.txt": "a", "src/x/b.txt": "b", "src/x/y/c.txt": "c", "src/x/y/d.md": "d", "src/empty/": "",
    "link": { link: "x" }, "ignored.txt": "i", "x/ignored.txt": "xi", ".dockerignore": "ignored.txt\n",
  }));

  it("keeps each source's parent directories relative to the context, their owners 0:0 and modes kept (BuildKit's testCopyParents)", async () => {
    const { lines } = await ok(ctx, "FROM scratch\nCOPY --parents foo1/foo2/bar /\nWORKDIR /test\nCOPY --parents foo1/foo2/ba* .\n");
    expect(lines.filter((l) => l.startsWith("foo1") || l.startsWith("test"))).toEqual([
      "foo1/ 0700 0:0", "foo1/foo2/ 0700 0:0", 'foo1/foo2/bar 0600 0:0 "testing"',
      "test/ 0755 0:0", "test/foo1/ 0700 0:0", "test/foo1/foo2/ 0700 0:0", 'test/foo1/foo2/bar 0600 0:0 "testing"', 'test/foo1/foo2/baz 0600 0:0 "testing2"',
    ]);
  }, 60_000);

  it("the reference's examples: without and with --parents, a /./ pivot, ** across directories", async () => {
    const { lines } = await ok(ctx, [
      "FROM scratch",
      "COPY ./x/a.txt ./y/a.txt /no_parents/",
      "COPY --parents ./x/a.txt ./y/a.txt /parents/",
      "COPY --parents ./x/./y/*.txt /pivot/",
      "COPY --parents ./src/**/*.txt /deep/",
    ].join("\n"));
    expect(under(lines, "no_parents")).toEqual(['a.txt 0644 0:0 "ya"']);
    expect(under(lines, "parents")).toEqual(["x/ 0755 0:0", 'x/a.txt 0644 0:0 "xa"', "y/ 0755 0:0", 'y/a.txt 0644 0:0 "ya"']);
    expect(under(lines, "pivot")).toEqual(["y/ 0755 0:0", 'y/a.txt 0644 0:0 "xya"', 'y/b.txt 0644 0:0 "xyb"']);
    expect(under(lines, "deep")).toEqual([
      "src/ 0755 0:0", 'src/a.txt 0644 0:0 "a"', "src/x/ 0755 0:0", 'src/x/b.txt 0644 0:0 "b"', "src/x/y/ 0755 0:0", 'src/x/y/c.txt 0644 0:0 "c"',
    ]);
  }, 60_000);

  it("a directory comes whole; the destination is a directory without a trailing slash too; --parents=false is a plain COPY", async () => {
    const { lines } = await ok(ctx, "FROM scratch\nCOPY --parents src/x /whole\nCOPY --parents=false src/x /plain/\nCOPY --parents=true src/empty /empty/\n");
    expect(under(lines, "whole")).toEqual([
      "src/ 0755 0:0", "src/x/ 0755 0:0", 'src/x/b.txt 0644 0:0 "b"', "src/x/y/ 0755 0:0", 'src/x/y/c.txt 0644 0:0 "c"', 'src/x/y/d.md 0644 0:0 "d"',
    ]);
    expect(under(lines, "plain")).toEqual(['b.txt 0644 0:0 "b"', "y/ 0755 0:0", 'y/c.txt 0644 0:0 "c"', 'y/d.md 0644 0:0 "d"']);
    expect(under(lines, "empty")).toEqual(["src/ 0755 0:0", "src/empty/ 0755 0:0"]);
  }, 60_000);

  it("with --chown and --chmod the kept parents get them too", async () => {
    const { lines } = await ok(ctx, "FROM scratch\nCOPY --parents --chown=7:8 --chmod=u=rwX,go= x/y/a.txt /o/\n");
    expect(under(lines, "o")).toEqual(["x/ 0700 7:8", "x/y/ 0700 7:8", 'x/y/a.txt 0600 7:8 "xya"']);
  }, 60_000);

  it("a source without wildcards must select something; with wildcards it may select nothing (the destination is still made)", async () => {
    const missing = await run(ctx, "FROM scratch\nCOPY --parents nonexistent-file /out/\n");
    expect(missing.error?.message).toMatch(/COPY failed: "nonexistent-file": not found/);
    const ignored = await run(ctx, "FROM scratch\nCOPY --parents ignored.txt /out/\n");
    expect(ignored.error?.message).toMatch(/"ignored.txt": not found/);
    const { lines } = await ok(ctx, "FROM scratch\nCOPY --parents src/nomatch*/c /w1/\nCOPY --parents ./x/./nomatch* /w2/\nCOPY --parents nomatch*/./a /w3/\n");
    expect(lines).toEqual(["w1/ 0755 0:0", "w2/ 0755 0:0"]); // (a pivot's glob matching nothing copies nothing at all)
  }, 60_000);

  it(".dockerignore applies; a symlink on the way is not followed (it is copied as what it is), one before the pivot is", async () => {
    const { lines } = await ok(ctx, "FROM scratch\nCOPY --parents **/*.txt /all/\nCOPY --parents link /l/\nCOPY --parents link/./y/a.txt /p/\n");
    expect(under(lines, "all").filter((l) => l.includes("ignored"))).toEqual(['x/ignored.txt 0644 0:0 "xi"']); // only the root's is ignored
    expect(under(lines, "all").some((l) => l.startsWith("link"))).toBe(false);
    expect(under(lines, "l")).toEqual(["link -> x 0:0"]);
    expect(under(lines, "p")).toEqual(["y/ 0755 0:0", 'y/a.txt 0644 0:0 "xya"']);
    const through = await run(ctx, "FROM scratch\nCOPY --parents link/a.txt /out/\n");
    expect(through.error?.message).toMatch(/"link\/a.txt": not found/);
  }, 60_000);

  it("from a stage: pivots, wildcards before and after them, several sources (BuildKit's testCopyRelativeParents and testCopyParentsMissingDirectory)", async () => {
    const c = join(work, "relative");
    makeTree(c, {
      "t/a/b/c/d/e/": "", "t/a/b2/c/d/e/": "", "t/a/b/c2/d/e/": "", "t/a/b/c2/d/e2/": "",
      "t/a/b/c/d/foo": "", "t/a/b/c/d/e/bay": "", "t/a/b2/c/d/e/bar": "", "t/a/b/c2/d/e/baz": "", "t/a/b/c2/d/e2/baz": "",
    });
    const { lines } = await ok(c, [
      "FROM scratch AS base",
      "COPY t/ /test/",
      "FROM scratch",
      "COPY --from=base --parents /test/a/b/./c/d /middle/",
      "COPY --from=base --parents /test/a/b/c/d/. /end/",
      "COPY --from=base --parents ./test/a/b/c/d /start/",
      "COPY --from=base --parents /test/a/./b/./c /double/",
      "COPY --from=base --parents /test/a/./*/c /wildcard/",
      "COPY --from=base --parents /test/a/b*/./c/**/e /doublewildcard/",
      "COPY --from=base --parents /test/a/b/c*/./d/**/baz /test/a/b*/./c/**/bar /doubleinputs/",
      "COPY --from=base --parents /test/a/b3*/c /wildcard-nonexistent/",
      "COPY --from=base --parents /test/a/b/./c3* /wildcard-afterpivot/",
    ].join("\n"));
    const d = (sub: string) => under(lines, sub).map((l) => l.replace(/ \d{4} 0:0.*$/, ""));
    expect(d("middle")).toEqual(["c/", "c/d/", "c/d/e/", "c/d/e/bay", "c/d/foo"]);
    const full = ["test/", "test/a/", "test/a/b/", "test/a/b/c/", "test/a/b/c/d/", "test/a/b/c/d/e/", "test/a/b/c/d/e/bay", "test/a/b/c/d/foo"];
    expect(d("end")).toEqual(full);
    expect(d("start")).toEqual(full);
    expect(d("double")).toEqual(["b/", "b/c/", "b/c/d/", "b/c/d/e/", "b/c/d/e/bay", "b/c/d/foo"]);
    expect(d("wildcard")).toEqual(["b/", "b/c/", "b/c/d/", "b/c/d/e/", "b/c/d/e/bay", "b/c/d/foo", "b2/", "b2/c/", "b2/c/d/", "b2/c/d/e/", "b2/c/d/e/bar"]);
    expect(d("doublewildcard")).toEqual(["c/", "c/d/", "c/d/e/", "c/d/e/bar", "c/d/e/bay"]);
    expect(d("doubleinputs")).toEqual(["c/", "c/d/", "c/d/e/", "c/d/e/bar", "d/", "d/e/", "d/e/baz", "d/e2/", "d/e2/baz"]);
    expect(d("wildcard-nonexistent")).toEqual([]);
    expect(lines).toContain("wildcard-nonexistent/ 0755 0:0");
    expect(d("wildcard-afterpivot")).toEqual([]);
    expect(lines).toContain("wildcard-afterpivot/ 0755 0:0");
    const missing = await run(c, "FROM scratch AS base\nCOPY t/ /test/\nFROM scratch\nCOPY --from=base --parents /test/nonexistent-file /out/\n");
    expect(missing.error?.message).toMatch(/"\/test\/nonexistent-file": not found/);
  }, 90_000);

  it("the cache key is the files selected: a change elsewhere in the context hits, one in a selected file misses", async () => {
    const c = join(work, "parents-cache");
    makeTree(c, { "keep/a.txt": "a", "keep/b.md": "b", "other/o.txt": "o" });
    const df = "FROM scratch\nCOPY --parents keep/*.txt /p/\n";
    const first = await ok(c, df);
    expect(steps(first.result)).toEqual(["ran COPY --parents keep/*.txt /p/"]);
    writeFileSync(join(c, "other", "o.txt"), "o changed");
    writeFileSync(join(c, "keep", "b.md"), "b changed");
    expect(steps((await ok(c, df)).result)).toEqual(["cached COPY --parents keep/*.txt /p/"]);
    writeFileSync(join(c, "keep", "a.txt"), "a changed");
    const changed = await ok(c, df);
    expect(steps(changed.result)).toEqual(["ran COPY --parents keep/*.txt /p/"]);
    expect(under(changed.lines, "p")).toEqual(["keep/ 0755 0:0", 'keep/a.txt 0644 0:0 "a changed"']);
    // the same sources without --parents are another step
    expect(steps((await ok(c, "FROM scratch\nCOPY keep/*.txt /p/\n")).result)).toEqual(["ran COPY keep/*.txt /p/"]);
  }, 90_000);
});

/** BuildKit's exclude_patterns_test context. */
const EXCLUDE_TREE: Spec = {
  "dir1/": { mode: 0o777 }, "dir2/": { mode: 0o777 }, "dir3/": { mode: 0o777 }, "dir4/": { mode: 0o777 },
  "dir1/file-101.png": { mode: 0o600, content: "2" }, "dir1/file-102.txt": { mode: 0o600, content: "3" }, "dir1/file-103.jpeg": { mode: 0o600, content: "4" },
  "dir2/file-201.pdf": { mode: 0o600, content: "6" }, "dir2/file-202.jpeg": { mode: 0o600, content: "7" }, "dir2/file-203.png": { mode: 0o600, content: "8" },
  "dir3/file-301.mp3": { mode: 0o600, content: "9" }, "dir3/file-302.mpeg": { mode: 0o600, content: "10" },
  "dir4/file-401.txt": { mode: 0o600, content: "11" }, "dir4/file-402.txt": { link: "file-401.txt" }, "dir4/file-403.txt": { link: "file-404.txt" },
};

/** Its six builders (into directories: BuildKit's /5 and /6 are written /5/ and /6/). */
const EXCLUDE_STEPS = (from: string) => [
  `COPY ${from}--exclude=*/*.png --exclude=*/*.jpeg . /1`,
  `COPY ${from}--exclude=*/*.pdf --exclude=*/*.txt . /2`,
  `${from ? "COPY" : "ADD"} ${from}--exclude=*.mp3 dir3/ /3/`,
  `COPY ${from}--exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/`,
  `${from ? "COPY" : "ADD"} ${from}--exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5/`,
  `${from ? "COPY" : "ADD"} ${from}--exclude=* dir* /6/`,
];

function expectExcludeResult(lines: string[]): void {
  const names = (sub: string) => under(lines, sub).map((l) => l.split(" ").slice(0, l.includes(" -> ") ? 3 : 1).join(" "));
  expect(names("1")).toEqual(["dir1/", "dir1/file-102.txt", "dir2/", "dir2/file-201.pdf", "dir3/", "dir3/file-301.mp3", "dir3/file-302.mpeg", "dir4/", "dir4/file-401.txt", "dir4/file-402.txt -> file-401.txt", "dir4/file-403.txt -> file-404.txt"]);
  expect(names("2")).toEqual(["dir1/", "dir1/file-101.png", "dir1/file-103.jpeg", "dir2/", "dir2/file-202.jpeg", "dir2/file-203.png", "dir3/", "dir3/file-301.mp3", "dir3/file-302.mpeg", "dir4/"]);
  expect(names("3")).toEqual(["file-302.mpeg"]);
  expect(names("4")).toEqual(["file-302.mpeg"]);
  expect(names("5")).toEqual(["file-102.txt", "file-401.txt", "file-402.txt -> file-401.txt", "file-403.txt -> file-404.txt"]);
  expect(names("6")).toEqual([]);
  expect(lines).toContain("6/ 0755 0:0");
  // what is copied keeps its mode and content; the directories their mode
  expect(under(lines, "1").slice(0, 2)).toEqual(["dir1/ 0777 0:0", 'dir1/file-102.txt 0600 0:0 "3"']);
  expect(under(lines, "5").find((l) => l.startsWith("file-401"))).toBe('file-401.txt 0600 0:0 "11"');
}

describe("COPY/ADD --exclude", () => {
  const ctx = join(work, "exclude");
  beforeAll(() => makeTree(ctx, EXCLUDE_TREE));

  it("leaves out what the patterns match below each source (BuildKit's testExcludedFilesOnCopy, from the context)", async () => {
    const { lines } = await ok(ctx, ["FROM scratch", ...EXCLUDE_STEPS("")].join("\n"));
    expectExcludeResult(lines);
  }, 60_000);

  it("the same from a stage (COPY --from)", async () => {
    const { lines } = await ok(ctx, ["FROM scratch AS base", "COPY . /", "FROM scratch", ...EXCLUDE_STEPS("--from=base ")].join("\n"));
    expectExcludeResult(lines);
  }, 60_000);

  it("patterns are relative to the source, never exclude the source itself, and exceptions bring back entries of an excluded directory", async () => {
    const c = join(work, "exclude2");
    makeTree(c, {
      "src/a.txt": "a", "src/b.md": "b", "src/sub/c.txt": "c", "src/sub/d.md": "d", "src/docs/": { mode: 0o750 },
      "src/docs/keep.md": "k", "src/docs/drop.md": "x", "src/docs/deep/keep.md": "dk", "top.md": "t",
    });
    const { lines } = await ok(c, [
      "FROM scratch",
      "COPY --exclude=*.md src /rel/", // only src's own *.md: sub/d.md stays
      "COPY --exclude=**/*.md src /deep/",
      "COPY --exclude=*.md top.md /self/", // the source itself is copied
      "COPY --exclude=*.md --exclude=top.md to[p].md /glob/", // and so is a file a wildcard matches (moby/buildkit#5489)
      "COPY --exclude=docs --exclude=!docs/keep.md src /exc/",
      "COPY --exclude=sub/ --exclude=./docs src /dirs/",
      "COPY --exclude=/a.txt src /abs/", // a leading / never matches (patterns are relative)
    ].join("\n"));
    expect(under(lines, "rel").map((l) => l.split(" ")[0])).toEqual(["a.txt", "docs/", "docs/deep/", "docs/deep/keep.md", "docs/drop.md", "docs/keep.md", "sub/", "sub/c.txt", "sub/d.md"]);
    expect(under(lines, "deep").map((l) => l.split(" ")[0])).toEqual(["a.txt", "docs/", "docs/deep/", "sub/", "sub/c.txt"]);
    expect(under(lines, "self")).toEqual(['top.md 0644 0:0 "t"']);
    expect(under(lines, "glob")).toEqual(['top.md 0644 0:0 "t"']);
    expect(under(lines, "exc")).toEqual(['a.txt 0644 0:0 "a"', 'b.md 0644 0:0 "b"', "docs/ 0750 0:0", 'docs/keep.md 0644 0:0 "k"', "sub/ 0755 0:0", 'sub/c.txt 0644 0:0 "c"', 'sub/d.md 0644 0:0 "d"']);
    expect(under(lines, "dirs").map((l) => l.split(" ")[0])).toEqual(["a.txt", "b.md"]);
    expect(under(lines, "abs").map((l) => l.split(" ")[0])).toContain("a.txt");
  }, 60_000);

  it("an ADD archive is unpacked whole (the patterns apply to copies, not to an archive's entries)", async () => {
    const c = join(work, "exclude-tar");
    makeTree(c, { "in/x.txt": "x", "in/y.md": "y" });
    execFileSync("tar", ["-cf", join(c, "a.tar"), "-C", join(c, "in"), "x.txt", "y.md"]);
    const { lines } = await ok(c, "FROM scratch\nADD --exclude=*.md a.tar /t/\n");
    expect(under(lines, "t").map((l) => l.split(" ")[0])).toEqual(["x.txt", "y.md"]);
  }, 60_000);

  it("the cache key: an excluded file's change hits, an included one's misses, other patterns miss", async () => {
    const c = join(work, "exclude-cache");
    makeTree(c, { "d/a.txt": "a", "d/b.log": "b", "d/sub/c.log": "c" });
    const df = "FROM scratch\nCOPY --exclude=*.log --exclude=sub d /d/\n";
    expect(steps((await ok(c, df)).result)).toEqual(["ran COPY --exclude=*.log --exclude=sub d /d/"]);
    writeFileSync(join(c, "d", "b.log"), "b changed");
    writeFileSync(join(c, "d", "sub", "c.log"), "c changed");
    writeFileSync(join(c, "d", "sub", "new.txt"), "new");
    expect(steps((await ok(c, df)).result)).toEqual(["cached COPY --exclude=*.log --exclude=sub d /d/"]);
    writeFileSync(join(c, "d", "a.txt"), "a changed");
    const changed = await ok(c, df);
    expect(steps(changed.result)).toEqual(["ran COPY --exclude=*.log --exclude=sub d /d/"]);
    expect(under(changed.lines, "d")).toEqual(['a.txt 0644 0:0 "a changed"']);
    expect(steps((await ok(c, "FROM scratch\nCOPY --exclude=*.log d /d/\n")).result)).toEqual(["ran COPY --exclude=*.log d /d/"]);
    const noExclude = await ok(c, "FROM scratch\nCOPY d /d/\n");
    expect(steps(noExclude.result)).toEqual(["ran COPY d /d/"]);
    expect(under(noExclude.lines, "d").length).toBe(5);
  }, 90_000);

  it("a malformed pattern is an error at the instruction's line", async () => {
    const r = await run(ctx, "FROM scratch\n\nCOPY --exclude=[ab dir1 /x/\n");
    expect(r.error?.name).toBe("DockerfileError");
    expect(r.error?.message).toMatch(/^Dockerfile:3:\d+: invalid --exclude pattern: syntax error in pattern: \[ab/);
    const lone = await run(ctx, "FROM scratch\nADD --exclude=! dir1 /x/\n");
    expect(lone.error?.message).toMatch(/Dockerfile:2:\d+: invalid --exclude pattern: illegal exclusion pattern: "!"/);
  }, 60_000);
});

describe("--chmod in symbolic form", () => {
  const ctx = join(work, "chmod");
  beforeAll(() => makeTree(ctx, {
    "t/": { mode: 0o700 }, "t/run.sh": { mode: 0o700, content: "r" }, "t/data": { mode: 0o600, content: "d" },
    "t/sub/": { mode: 0o700 }, "t/sub/x": { mode: 0o640, content: "x" }, "t/link": { link: "data" }, "script.sh": { mode: 0o644, content: "s" },
  }));

  it("applies to each copied entry's own mode: X for directories and executables, +x, g=u, a-w; symlinks untouched", async () => {
    const { lines } = await ok(ctx, [
      "FROM scratch",
      "COPY --chmod=u=rwX,go=rX t /rx/",
      "COPY --chmod=+x script.sh /app/",
      "COPY --chmod=g=u t /gu/",
      "ADD --chmod=a-w t /ro/",
      "COPY --chmod=go-rwx,u+s t/run.sh /suid",
    ].join("\n"));
    expect(under(lines, "rx")).toEqual(["link -> data 0:0", 'data 0644 0:0 "d"', 'run.sh 0755 0:0 "r"', "sub/ 0755 0:0", 'sub/x 0644 0:0 "x"'].sort());
    expect(under(lines, "app")).toEqual(['script.sh 0755 0:0 "s"']);
    expect(under(lines, "gu")).toEqual(["link -> data 0:0", 'data 0660 0:0 "d"', 'run.sh 0770 0:0 "r"', "sub/ 0770 0:0", 'sub/x 0660 0:0 "x"'].sort());
    expect(under(lines, "ro")).toEqual(["link -> data 0:0", 'data 0400 0:0 "d"', 'run.sh 0500 0:0 "r"', "sub/ 0500 0:0", 'sub/x 0440 0:0 "x"'].sort());
    expect(lines).toContain('suid 4700 0:0 "r"');
  }, 60_000);

  it("heredocs and downloads start from their own modes (0644, 0600)", async () => {
    const server = await serve({ "/f.txt": Buffer.from("dl") });
    try {
      const { lines } = await ok(ctx, `FROM scratch\nCOPY --chmod=+x <<EOF /h.sh\necho hi\nEOF\nADD --chmod=g+r http://127.0.0.1:${port(server)}/f.txt /dl\n`);
      expect(lines).toContain('h.sh 0755 0:0 "echo hi\\n"');
      expect(lines).toContain('dl 0640 0:0 "dl"');
    } finally {
      server.close();
    }
  }, 60_000);

  it("is part of the cache key as written; an invalid one is an error at the instruction's line", async () => {
    const a = await ok(ctx, "FROM scratch\nCOPY --chmod=u+x script.sh /s\n");
    const b = await ok(ctx, "FROM scratch\nCOPY --chmod=744 script.sh /s\n");
    expect(a.lines).toEqual(b.lines);
    expect(steps(b.result)).toEqual(["ran COPY --chmod=744 script.sh /s"]);
    const bad = await run(ctx, "FROM scratch\nARG M=u+q\nCOPY --chmod=$M script.sh /s\n");
    expect(bad.error?.name).toBe("DockerfileError");
    expect(bad.error?.message).toMatch(/^Dockerfile:3:\d+: invalid chmod parameter: 'u\+q': invalid syntax/);
    const big = await run(ctx, "FROM scratch\nADD --chmod=17777 script.sh /s\n");
    expect(big.error?.message).toMatch(/^Dockerfile:2:\d+: invalid chmod parameter: '17777'. it should be octal string and between 0 and 07777/);
  }, 60_000);
});

let servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  servers = [];
});

async function serve(files: Record<string, Buffer>): Promise<Server> {
  const server = createServer((req, res) => {
    const body = files[req.url ?? ""];
    if (!body) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader("last-modified", "Wed, 01 Jan 2020 00:00:00 GMT");
    res.end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}
const port = (s: Server): number => (s.address() as AddressInfo).port;

describe("ADD --unpack", () => {
  const ctx = join(work, "unpack");
  let archive: Buffer;
  beforeAll(() => {
    makeTree(ctx, { "in/inner.txt": "inner", "plain.txt": "plain" });
    execFileSync("tar", ["-czf", join(ctx, "a.tar.gz"), "-C", join(ctx, "in"), "inner.txt"]);
    chmodSync(join(ctx, "a.tar.gz"), 0o644);
    archive = readFileSync(join(ctx, "a.tar.gz"));
  });

  it("a local archive: unpacked by default and with --unpack=true, copied as a file with --unpack=false", async () => {
    const unpacked = ['inner.txt 0644 0:0 "inner"'];
    const byDefault = await ok(ctx, "FROM scratch\nADD a.tar.gz /x/\n");
    expect(under(byDefault.lines, "x")).toEqual(unpacked);
    const no = await ok(ctx, "FROM scratch\nADD --unpack=false a.tar.gz /x/\nADD --unpack=false a.tar.gz /named\n");
    expect(steps(no.result)).toEqual(["ran ADD --unpack=false a.tar.gz /x/", "ran ADD --unpack=false a.tar.gz /named"]); // (not the default's step)
    expect(under(no.lines, "x").map((l) => l.split(" ").slice(0, 3).join(" "))).toEqual(["a.tar.gz 0644 0:0"]);
    expect(readFileSync(join(work, `out-${outs}`, "x", "a.tar.gz")).equals(archive)).toBe(true);
    expect(lstatSync(join(work, `out-${outs}`, "named")).isFile()).toBe(true);
    const yes = await ok(ctx, "FROM scratch\nADD --unpack=true a.tar.gz /x/\n");
    expect(under(yes.lines, "x")).toEqual(unpacked);
    expect(steps(yes.result)).toEqual(["cached ADD --unpack=true a.tar.gz /x/"]); // the default's step: the same result
  }, 60_000);

  it("a URL: downloaded as a file by default, unpacked with --unpack=true (a file that is no archive stays a file)", async () => {
    const server = await serve({ "/a.tar.gz": archive, "/plain.txt": Buffer.from("plain") });
    const base = `http://127.0.0.1:${port(server)}`;
    const { lines } = await ok(ctx, `FROM scratch\nADD ${base}/a.tar.gz /dl/\nADD --unpack=true ${base}/a.tar.gz /ex/\nADD --unpack=true ${base}/plain.txt /p/\n`);
    expect(under(lines, "dl").map((l) => l.split(" ").slice(0, 3).join(" "))).toEqual(["a.tar.gz 0600 0:0"]);
    expect(under(lines, "ex")).toEqual(['inner.txt 0644 0:0 "inner"']);
    expect(under(lines, "p")).toEqual(['plain.txt 0600 0:0 "plain"']);
  }, 60_000);

  it("a fifo or a device is never opened as a maybe-archive: refused as COPY refuses it (opening a fifo waits for a writer)", async () => {
    const special = join(work, "unpack-special");
    mkdirSync(special, { recursive: true });
    execFileSync("mkfifo", [join(special, "p.tar")]);
    execFileSync("mknod", [join(special, "zero.tar"), "c", "1", "5"]);
    // were the fifo opened, this guard would end the wait after 15 s (the test then fails rather than hangs)
    const guard = spawn("timeout", ["30", "sh", "-c", `sleep 15; : > ${join(special, "p.tar")}`], { stdio: "ignore" });
    try {
      const t0 = Date.now();
      for (const [src, what] of [["p.tar", "fifo"], ["zero.tar", "special file"]]) {
        const r = await run(special, `FROM scratch\nADD ${src} /x/\n`);
        expect(r.error?.message).toBe(`ADD: /${src} is a ${what}, which cannot be copied`);
      }
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      guard.kill();
    }
  }, 60_000);
  it("is ADD's flag only, and a boolean", async () => {
    const copy = await run(ctx, "FROM scratch\nCOPY --unpack=true a.tar.gz /x/\n");
    expect(copy.error?.message).toMatch(/unknown flag: --unpack for COPY/);
    const notBool = await run(ctx, "FROM scratch\nADD --unpack=maybe a.tar.gz /x/\n");
    expect(notBool.error?.message).toMatch(/expecting boolean value for flag unpack, not: maybe/);
  }, 60_000);
});

describe("--parents and --exclude never reach out of the context", () => {
  const canary = join(work, "canary");
  const ctx = join(work, "hostile");
  let before: string[] = [];
  beforeAll(() => {
    makeCanary(canary, Buffer.from("not a tar"));
    before = canaryState(canary);
    makeTree(ctx, { "visible.txt": "v", "abs": { link: canary }, "rel": { link: `${"../".repeat(12)}${canary.slice(1)}` }, "sub/up": { link: "../../.." } });
    // where the links lead inside the context: a decoy
    makeTree(join(ctx, canary.slice(1)), { "decoy.txt": "decoy", "sub/inner.txt": "inner" });
  });

  const expectClean = (text: string): void => {
    expect(text).not.toContain(CANARY_SECRET);
    expect(text).not.toContain(CANARY_NAME);
  };

  it("links on the way are copied as links; a pivot through one resolves inside the context", async () => {
    const { lines } = await ok(ctx, [
      "FROM scratch",
      "COPY --parents abs rel /links/",
      "COPY --parents abs/./* /pivot/",
      "COPY --parents rel/./sub/ /relpivot/",
      "COPY --parents **/* /all/",
      "COPY --exclude=decoy.txt abs /ex/",
      "COPY --parents --exclude=**/inner.txt sub/up/./**/*.txt /up/",
    ].join("\n"));
    expect(under(lines, "links")).toEqual([`abs -> ${canary} 0:0`, `rel -> ${"../".repeat(12)}${canary.slice(1)} 0:0`]);
    expect(under(lines, "pivot")).toEqual(['decoy.txt 0644 0:0 "decoy"', "sub/ 0755 0:0", 'sub/inner.txt 0644 0:0 "inner"']);
    expect(under(lines, "relpivot")).toEqual(["sub/ 0755 0:0", 'sub/inner.txt 0644 0:0 "inner"']);
    expect(under(lines, "ex")).toEqual(["sub/ 0755 0:0", 'sub/inner.txt 0644 0:0 "inner"']);
    expect(under(lines, "all").filter((l) => !l.startsWith(canary.slice(1).split("/")[0] as string))).toEqual([
      `abs -> ${canary} 0:0`, `rel -> ${"../".repeat(12)}${canary.slice(1)} 0:0`, "sub/ 0755 0:0", "sub/up -> ../../.. 0:0", 'visible.txt 0644 0:0 "v"',
    ]);
    // sub/up leads to the context's root: what it selects is the context's, the decoys' inner.txt left out
    expect(under(lines, "up")).toContain('visible.txt 0644 0:0 "v"');
    expect(under(lines, "up").some((l) => l.includes("inner.txt"))).toBe(false);
    expectClean(JSON.stringify(lines));
    expect(canaryState(canary)).toEqual(before);
  }, 60_000);

  it("from a stage: a pivot through a link resolves inside the stage's root, a link on the way is copied as a link", async () => {
    const { lines } = await ok(ctx, [
      "FROM scratch AS a",
      "COPY . /",
      "FROM scratch",
      "COPY --from=a --parents /abs/./sub /sa/",
      "COPY --from=a --parents --exclude=*.txt /rel/./* /sr/",
      "COPY --from=a --parents /abs /l/",
    ].join("\n"));
    expect(under(lines, "sa")).toEqual(["sub/ 0755 0:0", 'sub/inner.txt 0644 0:0 "inner"']);
    expect(under(lines, "sr")).toEqual(["sub/ 0755 0:0", 'sub/inner.txt 0644 0:0 "inner"']); // (*.txt: the pivot's own entries only)
    expect(under(lines, "l")).toEqual([`abs -> ${canary} 0:0`]);
    const behind = await run(ctx, "FROM scratch AS a\nCOPY . /\nFROM scratch\nCOPY --from=a --parents /abs/file /o/\n");
    expect(behind.error?.message).toMatch(/"\/abs\/file": not found/);
    expectClean(JSON.stringify(lines));
    expect(canaryState(canary)).toEqual(before);
  }, 60_000);

  it("a host file behind a link is not found, and the error names nothing of the canary", async () => {
    for (const df of ["COPY --parents abs/file /o/", "COPY --parents rel/./file /o/", `COPY --parents abs/${CANARY_NAME}.txt /o/`]) {
      const r = await run(ctx, `FROM scratch\n${df}\n`);
      expect(r.error?.message).toMatch(/not found/);
      expect(r.error?.message.replace(`${CANARY_NAME}.txt`, "")).not.toContain(CANARY_NAME);
      expect(r.error?.message).not.toContain(CANARY_SECRET);
    }
    expect(canaryState(canary)).toEqual(before);
  }, 60_000);
});
