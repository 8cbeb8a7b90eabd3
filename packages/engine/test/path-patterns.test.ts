/**
 * The patterns of COPY/ADD --exclude and of COPY --parents, matched as moby's patternmatcher
 * matches them in fsutil's copy walk (MatchesUsingParentResults), and the copy filter's decisions.
 */
import { describe, expect, it } from "vitest";
import { compile, goClean, matchTokens, PathPatterns, PatternSyntaxError, type MatchInfo } from "../src/copy/path-patterns.js";
import { CopyFilter, type FilterState } from "../src/copy/copy-filter.js";

/** Walks `paths` (a tree in walk order: a directory before its entries) as the copier does; the paths that match. */
function walkMatches(patterns: string[], paths: string[]): string[] {
  const m = new PathPatterns(patterns);
  const info = new Map<string, MatchInfo>();
  const out: string[] = [];
  for (const p of paths) {
    const slash = p.lastIndexOf("/");
    const r = m.match(p, slash === -1 ? undefined : info.get(p.slice(0, slash)));
    info.set(p, r.info);
    if (r.matched) out.push(p);
  }
  return out;
}

const TREE = ["a.txt", "b.md", "dir", "dir/c.txt", "dir/d.md", "dir/sub", "dir/sub/e.txt", "docs", "docs/keep.md", "docs/other.md", "x.txt.bak"];

describe("patternmatcher", () => {
  it("cleans like Go: ./, trailing and double slashes, .., a leading / kept", () => {
    expect(goClean("./a/b/")).toBe("a/b");
    expect(goClean("a//b/../c")).toBe("a/c");
    expect(goClean("/../a")).toBe("/a");
    expect(goClean("../a")).toBe("../a");
    expect(goClean("")).toBe(".");
    expect(walkMatches(["./dir/"], TREE)).toEqual(["dir", "dir/c.txt", "dir/d.md", "dir/sub", "dir/sub/e.txt"]);
    expect(walkMatches(["/a.txt"], TREE)).toEqual([]); // (never matches a relative path, as in BuildKit)
  });

  it("* and ? stay within a name; a match of a directory covers what is below it", () => {
    expect(walkMatches(["*.txt"], TREE)).toEqual(["a.txt"]);
    expect(walkMatches(["*/*.txt"], TREE)).toEqual(["dir/c.txt"]);
    expect(walkMatches(["d?r"], TREE)).toEqual(["dir", "dir/c.txt", "dir/d.md", "dir/sub", "dir/sub/e.txt"]);
    expect(walkMatches(["*"], TREE)).toEqual(TREE);
  });

  it("** across names: at the start (suffix), at the end (prefix), in the middle", () => {
    expect(walkMatches(["**/*.txt"], TREE)).toEqual(["a.txt", "dir/c.txt", "dir/sub/e.txt"]);
    expect(walkMatches(["**/e.txt"], TREE)).toEqual(["dir/sub/e.txt"]);
    expect(walkMatches(["**/a.txt"], TREE)).toEqual(["a.txt"]);
    expect(walkMatches(["dir/**"], TREE)).toEqual(["dir/c.txt", "dir/d.md", "dir/sub", "dir/sub/e.txt"]);
    expect(walkMatches(["dir/**/e.txt"], TREE)).toEqual(["dir/sub/e.txt"]);
    expect(walkMatches(["**"], TREE)).toEqual(TREE);
    expect(walkMatches(["x**"], TREE)).toEqual(["x.txt.bak"]);
  });

  it("classes and escapes as the regular expression reads them", () => {
    expect(walkMatches(["[ab].*"], TREE)).toEqual(["a.txt", "b.md"]);
    expect(walkMatches(["[^a]*.md"], TREE)).toEqual(["b.md"]);
    expect(walkMatches(["x\\.txt.bak"], TREE)).toEqual(["x.txt.bak"]);
    expect(walkMatches(["x.txt"], TREE)).toEqual([]); // "." is literal
  });

  it("exceptions: the last matching pattern decides, also below an excluded directory", () => {
    expect(walkMatches(["docs", "!docs/keep.md"], TREE)).toEqual(["docs", "docs/other.md"]);
    expect(walkMatches(["*.txt", "!a.txt"], TREE)).toEqual([]);
    expect(walkMatches(["!a.txt", "*.txt"], TREE)).toEqual(["a.txt"]);
    expect(new PathPatterns(["docs", "!docs/keep.md"]).exceptions).toBe(true);
    expect(new PathPatterns(["docs"]).exceptions).toBe(false);
  });

  it("empty patterns are none; a lone ! and malformed classes are errors", () => {
    expect(walkMatches(["", "  "], TREE)).toEqual([]);
    expect(() => new PathPatterns(["!"])).toThrow(PatternSyntaxError);
    expect(() => new PathPatterns(["[a"])).toThrow(/syntax error in pattern/);
    expect(() => new PathPatterns(["a\\"])).toThrow(PatternSyntaxError);
  });

  it("matches in linear time: many ** against a deep path, many * against a long name (a RegExp backtracks for minutes)", () => {
    const deep = `${Array(40).fill("a").join("/")}/y`;
    const name = `${"a".repeat(3000)}c`;
    const t0 = Date.now();
    expect(new PathPatterns([`${Array(25).fill("**").join("/")}/x`]).match(deep, undefined).matched).toBe(false);
    expect(new PathPatterns([`${Array(25).fill("**").join("/")}/y`]).match(deep, undefined).matched).toBe(true);
    expect(new PathPatterns([`**/${Array(20).fill("a").join("/**/")}/**/b`]).match(deep, undefined).matched).toBe(false);
    expect(new PathPatterns([`${"*a".repeat(20)}*b`]).match(name, undefined).matched).toBe(false);
    expect(new PathPatterns([`${"*a".repeat(20)}*c`]).match(name, undefined).matched).toBe(true);
    expect(new PathPatterns([`${"*[a]".repeat(20)}*b`]).match(name, undefined).matched).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("the automaton decides as patternmatcher's expression does (random patterns and paths)", () => {
    let seed = 15;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    const atoms = ["a", "b", "/", "*", "?", "**", "**/", ".", "[ab]", "[^a]", "\\*", "é"];
    const names = ["a", "b", "ab", "ba", "a.b", "é", "*", "aa"];
    let compared = 0;
    for (let k = 0; k < 3000; k++) {
      const text = goClean(Array.from({ length: 1 + rand(6) }, () => atoms[rand(atoms.length)]).join(""));
      const c = compile(text);
      if (c.kind !== "regexp" || !c.tokens) continue;
      for (let j = 0; j < 8; j++) {
        const path = Array.from({ length: 1 + rand(4) }, () => names[rand(names.length)]).join("/");
        expect(matchTokens(c.tokens, path), `${text} on ${path}`).toBe((c.re as RegExp).test(path));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(5000);
  });

  it("without its directory's results (the top of a walk), parent directories are tried", () => {
    const m = new PathPatterns(["dir"]);
    expect(m.match("dir/sub/e.txt", undefined).matched).toBe(true);
    expect(m.match("dir/sub/e.txt", [false]).matched).toBe(false);
  });
});

describe("copy filter", () => {
  const decide = (include: string[] | undefined, exclude: string[], paths: string[]): string[] => {
    const f = CopyFilter.of(include, exclude) as CopyFilter;
    const states = new Map<string, FilterState>();
    return paths.map((p) => {
      const slash = p.lastIndexOf("/");
      const d = f.check(p, slash === -1 ? undefined : states.get(p.slice(0, slash)));
      states.set(p, d.state);
      const dir = paths.some((q) => q.startsWith(`${p}/`)); // (a file not copied is skipped, whatever descend says)
      return `${p}:${d.include ? "copy" : d.descend && dir ? "walk" : "skip"}`;
    });
  };

  it("is none without patterns", () => {
    expect(CopyFilter.of(undefined, [])).toBeUndefined();
  });

  it("--exclude: an excluded directory is skipped whole unless an exception may bring back something below it", () => {
    expect(decide(undefined, ["dir"], ["a.txt", "dir", "docs"])).toEqual(["a.txt:copy", "dir:skip", "docs:copy"]);
    expect(decide(undefined, ["docs", "!docs/keep.md"], ["docs", "docs/keep.md", "docs/other.md"])).toEqual(["docs:walk", "docs/keep.md:copy", "docs/other.md:skip"]);
  });

  it("--parents: directories on the way to the pattern are walked, what it matches is copied whole, excludes still apply", () => {
    expect(decide(["dir/sub"], [], ["a.txt", "dir", "dir/c.txt", "dir/sub", "dir/sub/e.txt"])).toEqual(["a.txt:skip", "dir:walk", "dir/c.txt:skip", "dir/sub:copy", "dir/sub/e.txt:copy"]);
    expect(decide(["dir/**/*.txt"], ["dir/sub"], ["dir", "dir/c.txt", "dir/sub", "dir/sub/e.txt"])).toEqual(["dir:walk", "dir/c.txt:copy", "dir/sub:skip", "dir/sub/e.txt:skip"]);
    expect(decide([""], [], ["a.txt", "dir", "dir/c.txt"])).toEqual(["a.txt:skip", "dir:walk", "dir/c.txt:skip"]); // (an empty pattern selects nothing)
  });
});
