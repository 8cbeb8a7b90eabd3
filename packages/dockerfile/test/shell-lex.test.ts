import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expandWord, expandWords, mapLookup, ExpansionError } from "../src/shell-lex.js";

const shared = fileURLToPath(new URL("../../../../shared/conformance/buildkit-shell-lex/", import.meta.url));
const haveShared = existsSync(shared);
if (!haveShared) console.warn(`skipping BuildKit expansion tables: ${shared} is absent`);

describe.skipIf(!haveShared)("BuildKit envVarTest table", () => {
  const env = mapLookup({ PWD: "/home", SHELL: "bash", KOREAN: "한국어", NULL: "" });
  const rows = haveShared
    ? readFileSync(shared + "envVarTest", "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    : [];
  const cases = rows
    .map((line) => {
      const [mode, input, expected] = line.split("|");
      return { mode: (mode ?? "").trim(), input: (input ?? "").trim(), expected: (expected ?? "").trim(), line };
    })
    .filter((c) => c.mode === "A" || c.mode === "U");
  it("has rows", () => expect(cases.length).toBeGreaterThan(100));
  it.each(cases)("$line", ({ input, expected }) => {
    if (expected === "error") {
      expect(() => expandWord(input, env)).toThrow(ExpansionError);
    } else {
      expect(expandWord(input, env)).toBe(expected);
    }
  });
});

describe.skipIf(!haveShared)("BuildKit wordsTest table", () => {
  const lines = haveShared ? readFileSync(shared + "wordsTest", "utf8").split("\n") : [];
  const cases: { input: string; expected: string[] | null; env: Record<string, string>; line: string }[] = [];
  const env: Record<string, string> = {};
  for (const line of lines) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    if (line.startsWith("ENV ")) {
      const kv = line.slice(4);
      const eq = kv.indexOf("=");
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
      continue;
    }
    // "input | w1,w2": the words keep trailing spaces (the table relies on them)
    const bar = line.indexOf("|");
    const expected = line.slice(bar + 1).replace(/^ /, "");
    cases.push({ input: line.slice(0, bar).trim(), expected: expected === "error" ? null : expected.split(","), env: { ...env }, line });
  }
  it.each(cases)("$line", ({ input, expected, env }) => {
    if (expected === null) expect(() => expandWords(input, mapLookup(env))).toThrow(ExpansionError);
    else expect(expandWords(input, mapLookup(env))).toEqual(expected);
  });
});

describe("expansion operators", () => {
  const env = mapLookup({ V: "value", EMPTY: "", PATHISH: "/usr/local/bin/tool.tar.gz" });
  const x = (w: string) => expandWord(w, env);
  it("plain and braced", () => {
    expect(x("$V")).toBe("value");
    expect(x("${V}")).toBe("value");
    expect(x("${UNSET}")).toBe("");
  });
  it(":- and -", () => {
    expect(x("${EMPTY:-w}")).toBe("w");
    expect(x("${EMPTY-w}")).toBe("");
    expect(x("${UNSET-w}")).toBe("w");
    expect(x("${V:-w}")).toBe("value");
  });
  it(":+ and +", () => {
    expect(x("${EMPTY:+w}")).toBe("");
    expect(x("${EMPTY+w}")).toBe("w");
    expect(x("${UNSET+w}")).toBe("");
    expect(x("${V:+w}")).toBe("w");
  });
  it(":? and ?", () => {
    expect(() => x("${UNSET:?must be set}")).toThrow(/UNSET: must be set/);
    expect(() => x("${EMPTY:?}")).toThrow(/is not allowed to be empty/);
    expect(x("${EMPTY?}")).toBe("");
    expect(() => x("${UNSET?}")).toThrow(/is not allowed to be unset/);
    expect(x("${V?x}")).toBe("value");
  });
  it("# ## % %%", () => {
    expect(x("${PATHISH#*/}")).toBe("usr/local/bin/tool.tar.gz");
    expect(x("${PATHISH##*/}")).toBe("tool.tar.gz");
    expect(x("${PATHISH%.*}")).toBe("/usr/local/bin/tool.tar");
    expect(x("${PATHISH%%.*}")).toBe("/usr/local/bin/tool");
  });
  it("/ and //", () => {
    expect(x("${V/l/L}")).toBe("vaLue");
    expect(x("${PATHISH//\\//_}")).toBe("_usr_local_bin_tool.tar.gz");
    expect(x("${V/x/y}")).toBe("value");
  });
  it("escape token backtick", () => {
    expect(expandWord("a`$V", env, { escapeToken: "`" })).toBe("a$V");
  });
  it("skipUnsetEnv keeps unset references", () => {
    expect(expandWord("${UNSET:-x}$NOPE", env, { skipUnsetEnv: true })).toBe("${UNSET:-x}$NOPE");
  });
});
