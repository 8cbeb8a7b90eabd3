import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dumpBuildkit, parseDockerfile, DockerfileError } from "../src/index.js";

const conformance = fileURLToPath(new URL("../../../../shared/conformance/", import.meta.url));
const have = existsSync(conformance);
if (!have) console.warn(`skipping BuildKit parser conformance: ${conformance} is absent`);
const dirs = (sub: string): string[] =>
  have ? readdirSync(conformance + sub).filter((d) => statSync(conformance + sub + "/" + d).isDirectory()) : [];

describe.skipIf(!have)("BuildKit parser golden files (buildkit-parser/)", () => {
  it.each(dirs("buildkit-parser"))("%s", (name) => {
    const dir = `${conformance}buildkit-parser/${name}/`;
    const parsed = parseDockerfile(readFileSync(dir + "Dockerfile", "utf8"));
    expect(dumpBuildkit(parsed)).toBe(readFileSync(dir + "result", "utf8"));
  });
});

describe.skipIf(!have)("BuildKit negative parser cases (buildkit-parser-negative/)", () => {
  it.each(dirs("buildkit-parser-negative"))("%s is rejected", (name) => {
    const text = readFileSync(`${conformance}buildkit-parser-negative/${name}/Dockerfile`, "utf8");
    expect(() => parseDockerfile(text)).toThrow(DockerfileError);
  });
});

interface HeredocExpect {
  Name: string;
  Content: string;
  Expand?: boolean;
  Chomp?: boolean;
  FileDescriptor?: number;
}

describe.skipIf(!have)("BuildKit heredoc extraction (buildkit-parser-heredoc/)", () => {
  const dir = `${conformance}buildkit-parser-heredoc/`;
  const expected = have ? (JSON.parse(readFileSync(dir + "expected.json", "utf8")).expected as { heredocs: HeredocExpect[] | null; comment: string }[]) : [];
  const parsed = have ? parseDockerfile(readFileSync(dir + "Dockerfile", "utf8")) : undefined;
  it("has one instruction per expectation (after FROM)", () => {
    expect(parsed!.children.length - 1).toBe(expected.length);
  });
  it.each(expected.map((e, i) => ({ ...e, i })))("#$i $comment", ({ heredocs, i }) => {
    const node = parsed!.children[i + 1]!;
    const got = node.heredocs.map((h) => ({
      Name: h.name,
      Content: h.content,
      Expand: h.expand,
      Chomp: h.chomp,
      FileDescriptor: h.fileDescriptor,
    }));
    const want = (heredocs ?? []).map((h) => ({
      Name: h.Name,
      Content: h.Content,
      Expand: h.Expand ?? false,
      Chomp: h.Chomp ?? false,
      FileDescriptor: h.FileDescriptor ?? 0,
    }));
    expect(got).toEqual(want);
  });
});

describe.skipIf(!have)("BuildKit line numbers (buildkit-parser-lines/)", () => {
  it("root and children lines", () => {
    const dir = `${conformance}buildkit-parser-lines/`;
    const exp = JSON.parse(readFileSync(dir + "expected.json", "utf8"));
    const parsed = parseDockerfile(readFileSync(dir + "Dockerfile", "utf8"));
    expect([parsed.startLine, parsed.endLine]).toEqual([exp.root.StartLine, exp.root.EndLine]);
    expect(parsed.children.map((c) => [c.startLine, c.endLine])).toEqual(exp.children);
  });
});
