/**
 * The parser and the lowering are linear in the Dockerfile's size (issue 13, item 8): a 5 MB
 * Dockerfile of comments took 160–180 s when every comment copied the list of those before it.
 * Each shape below once hit a quadratic path (a list copied per line, a regex backtracking over a
 * run of blanks, a lookup of every stage per stage); a quadratic one would take minutes at this size.
 */
import { describe, expect, it } from "vitest";
import { DockerfileError, lower, parseDockerfile, type BuildGraph, type ParsedDockerfile } from "../src/index.js";

const MB = 1024 * 1024;
const repeat = (line: string, bytes: number): string => line.repeat(Math.ceil(bytes / line.length));

function timed(text: string): { parsed: ParsedDockerfile; graph: BuildGraph; ms: number } {
  const t0 = performance.now();
  const parsed = parseDockerfile(text);
  const graph = lower(parsed, { platform: { os: "linux", architecture: "amd64" }, buildPlatform: { os: "linux", architecture: "amd64" } });
  return { parsed, graph, ms: performance.now() - t0 };
}

// warm the JIT up on a small file, so the first case does not pay for it
timed("# c\nFROM scratch\nRUN a \\\n b\nENV a=b\nCOPY <<EOF /x\nhi\nEOF\n");

describe("parsing is linear in the Dockerfile's size", () => {
  it("5 MB of comments parses and lowers in under a second", () => {
    const line = "# a comment line that says nothing much at all, padded out to about 100 bytes of text here\n";
    const text = repeat(line, 5 * MB) + "FROM scratch\n";
    const { parsed, graph, ms } = timed(text);
    expect(parsed.children).toHaveLength(1);
    expect(parsed.children[0]!.prevComment).toHaveLength(Math.ceil((5 * MB) / line.length));
    expect(graph.stages).toHaveLength(1);
    expect(ms).toBeLessThan(1000);
  });

  const budget = 2500;
  const shapes: { name: string; text: string; check: (p: ParsedDockerfile, g: BuildGraph) => void }[] = [
    {
      name: "one RUN continued over 100k lines (5 MB)",
      text: "FROM scratch\nRUN echo start \\\n" + repeat("  && echo some words on a continued line of a run step \\\n", 5 * MB) + "  && true\n",
      check: (p) => {
        expect(p.children).toHaveLength(2);
        expect(p.children[1]!.endLine - p.children[1]!.startLine).toBeGreaterThan(90_000);
      },
    },
    {
      name: "100k short RUN lines",
      text: "FROM scratch\n" + "RUN true\n".repeat(100_000),
      check: (_p, g) => expect(g.stages[0]!.instructions).toHaveLength(100_000),
    },
    {
      name: "a 5 MB heredoc",
      text: "FROM scratch\nCOPY <<EOF /x\n" + repeat("a line of a huge heredoc file, with $HOME and ${X} in it\n", 5 * MB) + "EOF\n",
      check: (p) => expect(p.children[1]!.heredocs[0]!.content.length).toBeGreaterThanOrEqual(5 * MB),
    },
    {
      name: "a 5 MB single line",
      text: "FROM scratch\nRUN echo " + "x".repeat(5 * MB) + "\n",
      check: (p) => expect(p.children[1]!.original.length).toBe(5 * MB + 9),
    },
    {
      name: "5 MB of empty lines",
      text: "FROM scratch\n" + "\n".repeat(5 * MB) + "RUN true\n",
      check: (p) => expect(p.children[1]!.startLine).toBe(5 * MB + 2),
    },
    {
      name: "5 MB of empty lines inside a continuation",
      text: "FROM scratch\nRUN a \\\n" + "\n".repeat(5 * MB) + "b\n",
      check: (p) => expect(p.warnings).toHaveLength(1),
    },
    {
      name: "5 MB of comments ending in an escape, inside and before an instruction",
      text: repeat("# comment \\\n", 2.5 * MB) + "FROM scratch\nRUN a \\\n" + repeat("# comment \\\n", 2.5 * MB) + "b\n",
      check: (p) => expect(p.children.map((c) => c.original)).toEqual(["FROM scratch", "RUN a b"]),
    },
    {
      name: "a 5 MB run of carriage returns in a line",
      text: "FROM scratch\nRUN a" + "\r".repeat(5 * MB) + "b\n",
      check: (p) => expect(p.children).toHaveLength(2),
    },
    {
      name: "a directive with 5 MB of blanks in its value",
      text: "# syntax=a" + " ".repeat(5 * MB) + "b\nFROM scratch\n",
      check: (p) => expect(p.directives[0]!.value.length).toBe(5 * MB + 2),
    },
    {
      name: "ENV with 500k pairs",
      text: "FROM scratch\nENV " + "k=v ".repeat(500_000) + "\n",
      check: (p) => expect(p.children[1]!.next).toHaveLength(1_500_000),
    },
    {
      name: "RUN with 100k --mount flags",
      text: "FROM scratch AS a\nFROM scratch\nRUN " + "--mount=from=a,target=/c ".repeat(100_000) + "true\n",
      check: (_p, g) => expect(g.stages[1]!.dependsOn).toEqual([0]),
    },
    {
      name: "25k stages, each copying from the one before",
      text: Array.from({ length: 25_000 }, (_, i) => `FROM ${i ? `s${i - 1}` : "scratch"} AS s${i}\nCOPY --from=${i ? `s${i - 1}` : "img"} a b\n`).join(""),
      check: (_p, g) => expect(g.reachable).toHaveLength(25_000),
    },
    {
      name: "RUN with 1M heredoc operators",
      text: "FROM scratch\nRUN " + "<< ".repeat(1_000_000) + "\n",
      check: (p) => expect(p.children[1]!.heredocs).toHaveLength(0),
    },
    {
      name: "CMD with a JSON array nested deeper than Go allows (shell form, as BuildKit)",
      text: "FROM scratch\nCMD " + "[".repeat(1_000_000) + "]".repeat(1_000_000) + "\n",
      check: (p) => expect(p.children[1]!.json).toBe(false),
    },
  ];
  it("substitutions nested 100k deep are a DockerfileError, not a stack overflow", () => {
    const deep = "${a:-".repeat(100_000) + "x" + "}".repeat(100_000);
    expect(() => timed(`FROM ${deep}\n`)).toThrow(DockerfileError);
  });

  it("a chain of 600k ONBUILDs is a DockerfileError, not a stack overflow", () => {
    expect(() => timed("FROM scratch\n" + "ONBUILD ".repeat(600_000) + "RUN x\n")).toThrow(/Chaining ONBUILD/);
  });

  it.each(shapes)(`$name: under ${budget} ms`, ({ text, check }) => {
    const { parsed, graph, ms } = timed(text);
    check(parsed, graph);
    expect(ms).toBeLessThan(budget);
  });
});
