/**
 * Heredocs in the typed instructions and their expansion, as dockerfile 1.7 makes them. Every
 * expected value here was checked against the modern BuildKit (Docker 26.1, dockerfile 1.7) with the
 * fixtures/cases/heredoc-* cases: the files it wrote, and its history.
 */
import { describe, expect, it } from "vitest";
import {
  DockerfileError, expandHeredocContent, expandInstruction, ExpansionError, loadDockerfile, mapLookup, parseDockerfile,
  type AddInstruction, type CopyInstruction, type Instruction, type OnbuildInstruction, type RunInstruction,
} from "../src/index.js";
import { thrown } from "./helpers/thrown.js";

const amd64 = { os: "linux", architecture: "amd64" };
/** The typed instructions after FROM. */
function instructions(text: string): Instruction[] {
  return loadDockerfile(`FROM a\n${text}`, "Dockerfile", { platform: amd64, buildPlatform: amd64 }).stages[0]!.instructions;
}
const first = <T extends Instruction>(text: string): T => instructions(text)[0] as T;

describe("COPY/ADD heredoc sources", () => {
  it("are split from the paths: name, content, whether to expand", () => {
    const c = first<CopyInstruction>("COPY a.txt <<EOF b.txt <<'RAW' /dest/\none $X\nEOF\ntwo $X\nRAW\n");
    expect(c.sources).toEqual(["a.txt", "b.txt"]);
    expect(c.contents).toEqual([
      { name: "EOF", data: "one $X\n", expand: true },
      { name: "RAW", data: "two $X\n", expand: false },
    ]);
    expect(c.dest).toBe("/dest/");
  });
  it("any quote in the delimiter turns expansion off; the name loses its quotes", () => {
    const words = ["<<'Q1'", '<<"Q2"', '<<Q"3"', "<<-'Q4'"];
    const c = first<CopyInstruction>(`COPY ${words.join(" ")} /d/\n${["Q1", "Q2", "Q3", "\tQ4"].map((n) => `x\n${n}\n`).join("")}`);
    expect(c.contents.map((s) => [s.name, s.expand])).toEqual([["Q1", false], ["Q2", false], ["Q3", false], ["Q4", false]]);
  });
  it("<<- strips the leading tabs of every line (not spaces)", () => {
    const c = first<AddInstruction>("ADD <<-EOF /x\n\tone\n\t\ttwo\n  three\n\tEOF\n");
    expect(c.contents[0]).toEqual({ name: "EOF", data: "one\ntwo\n  three\n", expand: true });
  });
  it("two heredocs of one name both take the last one's content", () => {
    const c = first<CopyInstruction>("COPY <<EOF <<EOF /d/\nfirst\nEOF\nsecond\nEOF\n");
    expect(c.contents.map((s) => s.data)).toEqual(["second\n", "second\n"]);
  });
  it("exec form reads no body, but a heredoc word is still a heredoc source: an empty file", () => {
    const c = first<CopyInstruction>('COPY ["<<EOF", "plain", "/d/"]\n');
    expect(c.sources).toEqual(["plain"]);
    expect(c.contents).toEqual([{ name: "EOF", data: "", expand: true }]);
  });
  it("a heredoc as the destination is refused at the line", () => {
    for (const text of ["COPY <<EOF <<OUT\nx\nEOF\ny\nOUT\n", 'ADD ["a", "<<EOF"]\n']) {
      const e = thrown(DockerfileError, () => instructions(text));
      expect({ code: e.code, line: e.position?.line }).toEqual({ code: "bad-heredoc", line: 2 });
      expect(e.detail).toMatch(/^(COPY|ADD) cannot accept a heredoc as a destination$/);
    }
  });
  it("a heredoc alone has no destination", () => {
    const e = thrown(DockerfileError, () => instructions("COPY <<EOF\nx\nEOF\n"));
    expect(e.code).toBe("missing-arguments");
    expect(e.message).toContain("Dockerfile:2:1: COPY requires at least two arguments, but only one was provided");
  });
  it("a word that is not a heredoc stays a path (`<<`, `x<<EOF`, an unterminated quote)", () => {
    const c = first<CopyInstruction>("COPY << x<<EOF <<'EOF /d/\n");
    expect(c.sources).toEqual(["<<", "x<<EOF", "<<'EOF"]);
    expect(c.contents).toEqual([]);
  });
});

describe("RUN heredocs", () => {
  it("keep the command as written and each heredoc raw (the engine builds the command)", () => {
    const r = first<RunInstruction>("RUN cat <<-EOF > /f\n\tx $Y\n\tEOF\n");
    expect(r.cmd).toEqual({ form: "shell", command: "cat <<-EOF > /f" });
    expect(r.heredocs).toEqual([{ name: "EOF", content: "\tx $Y\n", expand: true, chomp: true, fileDescriptor: 0 }]);
  });
  it("exec form reads none: the body lines are instructions", () => {
    const e = thrown(DockerfileError, () => instructions('RUN ["sh", "-c", "cat <<EOF"]\nhello\nEOF\n'));
    expect({ code: e.code, line: e.position?.line }).toEqual({ code: "unknown-instruction", line: 3 });
  });
});

describe("ONBUILD with a heredoc", () => {
  it("stores the trigger with its body and delimiter, as BuildKit does", () => {
    const o = first<OnbuildInstruction>("ONBUILD RUN <<EOF\necho hi\nEOF\n");
    expect(o.expression).toBe("RUN <<EOF\necho hi\nEOF");
    const again = parseDockerfile(o.expression).children[0]!;
    expect(again.heredocs.map((h) => h.content)).toEqual(["echo hi\n"]);
  });
  it("checks the inner COPY with its heredocs", () => {
    const o = first<OnbuildInstruction>("ONBUILD COPY <<EOF /x\ny\nEOF\n");
    expect((o.inner as CopyInstruction).contents).toEqual([{ name: "EOF", data: "y\n", expand: true }]);
  });
});

describe("expansion of a heredoc's content (dockerfile 1.7's ExpandRaw)", () => {
  const env = mapLookup({ NAME: "app", HOME_DIR: "/srv/app", EMPTY: "", V: "1.0" });
  const x = (s: string) => expandHeredocContent(s, env);
  it.each([
    ["variables", "$V ${NAME} $NAME-x", "1.0 app app-x"],
    ["quotes are plain characters", `"$NAME" '$NAME'`, `"app" 'app'`],
    ["a backslash makes the next character literal, and goes", String.raw`\$NAME \\ \n \"x\" \'`, `$NAME \\ n "x" '`],
    ["a backslash before a newline goes, the newline stays", "a \\\nb\n", "a \nb\n"],
    ["a backslash at the very end goes", "end\\", "end"],
    ["special parameters are never set", "[$$] [$1] [$#] [$?] [$@]", "[] [] [] [] []"],
    ["a $ before anything else stays", "[$ ] [$] [$%x]", "[$ ] [$] [$%x]"],
    ["unset variables are empty", "[$UNSET] [${UNSET}]", "[] []"],
    ["defaults", "${UNSET:-fb} ${EMPTY:-fe} ${EMPTY-kept} ${NAME:+set} ${UNSET:+never}", "fb fe  set "],
    ["trims and replacements", "${HOME_DIR#/srv} ${HOME_DIR%/app} ${HOME_DIR##*/} ${NAME/p/P} ${NAME//p/P}", "/app /srv app aPp aPP"],
    ["the escape directive does not apply: ` is a character", "`$V", "`1.0"],
  ])("%s", (_name, input, want) => expect(x(input)).toBe(want));
  it("${V?msg} of an unset variable fails with the message", () => {
    const e = thrown(ExpansionError, () => x("${UNSET?must be set}\n"));
    expect(e.reason).toBe("UNSET: must be set");
  });
  it("expandInstruction expands unquoted heredocs only, and the paths, not the heredoc words", () => {
    const c = first<CopyInstruction>("COPY <<A <<'B' $D\n$V\nA\n$V\nB\n");
    const out = expandInstruction(c, { lookup: env, escapeToken: "\\", file: "Dockerfile" });
    expect(out.contents.map((s) => s.data)).toEqual(["1.0\n", "$V\n"]);
    expect(out.dest).toBe("");
    const bad = first<CopyInstruction>("COPY <<EOF /x\n${UNSET:?}\nEOF\n");
    const e = thrown(DockerfileError, () => expandInstruction(bad, { lookup: env, escapeToken: "\\", file: "Dockerfile" }));
    expect(e.message).toBe("Dockerfile:2:1: heredoc <<EOF: UNSET: is not allowed to be unset");
  });
  it("a 5 MB heredoc expands in linear time", () => {
    const big = "a line with $NAME and ${V} in it\n".repeat(160_000);
    const t0 = Date.now();
    expect(x(big)).toBe("a line with app and 1.0 in it\n".repeat(160_000));
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
