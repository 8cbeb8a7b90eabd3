import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DockerfileError, loadDockerfile, StageArgScope, expandInstruction, mapLookup, type BuildGraph } from "../src/index.js";

const amd64 = { os: "linux", architecture: "amd64" };
const load = (text: string, opts: Parameters<typeof loadDockerfile>[2] = {}): BuildGraph =>
  loadDockerfile(text, "Dockerfile", { platform: amd64, buildPlatform: amd64, ...opts });

function errorOf(text: string, opts: Parameters<typeof loadDockerfile>[2] = {}): DockerfileError {
  try {
    load(text, opts);
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error("expected a DockerfileError");
}

describe("errors carry the exact position and a fix", () => {
  it("empty file", () => {
    const e = errorOf("");
    expect(e.code).toBe("empty-file");
    expect(e.message).toMatch(/^Dockerfile:1:1: file with no instructions/);
  });
  it("only comments", () => expect(errorOf("# a\n# b\n").code).toBe("empty-file"));
  it("unknown instruction with suggestion", () => {
    const e = errorOf("FROM a\n  RUNN echo\n");
    expect(e.code).toBe("unknown-instruction");
    expect(e.position).toEqual({ line: 2, column: 3, endLine: 2 });
    expect(e.message).toBe("Dockerfile:2:3: unknown instruction: RUNN (did you mean RUN?)");
  });
  it("flag not allowed", () => {
    const e = errorOf("FROM a\nENV --foo=bar A=b\n");
    expect(e.code).toBe("flag-not-allowed");
    expect(e.position?.line).toBe(2);
    const e2 = errorOf("FROM a\nCOPY --checksum=sha256:00 a b\n");
    expect(e2.code).toBe("flag-not-allowed");
    expect(e2.message).toMatch(/COPY accepts --from, --chown/);
  });
  it("bad JSON (nested array)", () => {
    const e = errorOf('FROM a\nCMD ["echo", ["x"]]\n');
    expect(e.code).toBe("bad-json");
    expect(e.position?.line).toBe(2);
  });
  it("SHELL needs JSON", () => expect(errorOf("FROM a\nSHELL /bin/bash -c\n").code).toBe("bad-json"));
  it("unterminated heredoc", () => {
    const e = errorOf("FROM a\nRUN <<EOF\necho hi\n");
    expect(e.code).toBe("unterminated-heredoc");
    expect(e.position).toEqual({ line: 2, column: 1, endLine: 3 });
  });
  it("unknown stage index", () => {
    const e = errorOf("FROM a\nCOPY --from=3 /x /y\n");
    expect(e.code).toBe("unknown-stage");
    expect(e.position?.line).toBe(2);
  });
  it("forward stage reference", () => {
    const e = errorOf("FROM a AS one\nCOPY --from=two /x /y\nFROM b AS two\n");
    expect(e.code).toBe("forward-stage-reference");
    expect(e.position?.line).toBe(2);
    expect(errorOf("FROM a\nCOPY --from=1 /x /y\nFROM b\n").code).toBe("forward-stage-reference");
  });
  it("duplicate stage name", () => {
    const e = errorOf("FROM a AS x\nFROM b AS X\n");
    expect(e.code).toBe("duplicate-stage");
    expect(e.position?.line).toBe(2);
    expect(e.message).toMatch(/already used at line 1/);
  });
  it("no FROM", () => {
    const e = errorOf("ARG A=1\nRUN echo\n");
    expect(e.code).toBe("no-from");
    expect(e.position?.line).toBe(2);
    expect(errorOf("ARG A=1\n").code).toBe("no-from");
  });
  it("ENV without value", () => expect(errorOf("FROM a\nENV PATH\n").code).toBe("missing-arguments"));
  it("unknown --target", () => expect(errorOf("FROM a AS b\n", { target: "nope" }).code).toBe("target-not-found"));
});

describe("stages, dependencies and pruning", () => {
  const text = [
    "ARG BASE=alpine",
    "FROM ${BASE}:3 AS base",
    "FROM base AS build",
    "RUN make",
    "FROM scratch AS unused",
    "COPY --from=nginx:1 /etc/nginx /x",
    "FROM busybox AS final",
    "COPY --from=build /out /out",
    "RUN --mount=type=bind,from=0,target=/b true",
  ].join("\n");
  it("bases and edges", () => {
    const g = load(text);
    expect(g.stages.map((s) => s.base)).toEqual([
      { kind: "image", ref: "alpine:3" },
      { kind: "stage", index: 0 },
      { kind: "scratch" },
      { kind: "image", ref: "busybox" },
    ]);
    expect(g.stages[3]!.dependsOn).toEqual([1, 0]);
    expect(g.stages[2]!.imageRefs).toEqual(["nginx:1"]);
    expect(g.target).toBe(3);
    expect(g.reachable).toEqual([0, 1, 3]);
  });
  it("--target prunes what it does not reach", () => {
    const g = load(text, { target: "build" });
    expect(g.target).toBe(1);
    expect(g.reachable).toEqual([0, 1]);
  });
  it("--build-arg overrides a global default in FROM", () => {
    expect(load(text, { buildArgs: { BASE: "debian" } }).stages[0]!.base).toEqual({ kind: "image", ref: "debian:3" });
  });
  it("predefined platform args in FROM", () => {
    const g = load("FROM --platform=$BUILDPLATFORM img:$TARGETARCH\n");
    expect(g.stages[0]!.base).toEqual({ kind: "image", ref: "img:amd64" });
    expect(g.stages[0]!.platform).toBe("linux/amd64");
  });
  it("warns about unused build args, not proxy ones", () => {
    const g = load("FROM a\nARG USED\n", { buildArgs: { USED: "1", UNUSED: "2", HTTP_PROXY: "x" } });
    expect(g.warnings).toEqual(["[Warning] One or more build-args [UNUSED] were not consumed"]);
  });
});

describe("ARG scoping", () => {
  const text = "ARG V=1\nARG G=global\nFROM a\nARG V\nARG L=local-$V\nARG G\nARG TARGETOS\nARG NOVALUE\n";
  it("global args reach FROM only unless redeclared; build-args override", () => {
    const g = load(text, { buildArgs: { V: "9" } });
    const scope = new StageArgScope(g);
    expect(scope.get("V")).toBeUndefined();
    for (const instr of g.stages[0]!.instructions) {
      if (instr.kind !== "arg") continue;
      const lookup = (k: string) => scope.get(k);
      const expanded = expandInstruction(instr, { lookup, escapeToken: "\\", file: "Dockerfile" });
      for (const a of expanded.args) scope.declare(a);
    }
    expect(scope.get("V")).toBe("9");
    expect(scope.get("L")).toBe("local-9");
    expect(scope.get("G")).toBe("global");
    expect(scope.get("TARGETOS")).toBe("linux");
    expect(scope.has("NOVALUE")).toBe(true);
    expect(scope.entries()).toEqual([["V", "9"], ["L", "local-9"], ["G", "global"], ["TARGETOS", "linux"]]);
  });
});

describe("expansion applies where BuildKit applies it", () => {
  const g = load('FROM a\nENV A=$X B="$X y"\nRUN echo $X\nCMD echo $X\nCOPY --chown=$X $X/src /dst/$X\nLABEL "$X"=v\nEXPOSE $PORTS\nWORKDIR /w/${X:-d}\n');
  const ctx = { lookup: mapLookup({ X: "x", PORTS: "80 443" }), escapeToken: "\\", file: "Dockerfile" };
  const [env, run, cmd, copy, label, expose, workdir] = g.stages[0]!.instructions.map((i) => expandInstruction(i, ctx));
  it("ENV/LABEL keys and values, quotes removed", () => {
    expect(env).toMatchObject({ pairs: [{ key: "A", value: "x" }, { key: "B", value: "x y" }] });
    expect(label).toMatchObject({ pairs: [{ key: "x", value: "v" }] });
  });
  it("RUN and CMD untouched", () => {
    expect(run).toMatchObject({ cmd: { form: "shell", command: "echo $X" } });
    expect(cmd).toMatchObject({ cmd: { form: "shell", command: "echo $X" } });
  });
  it("COPY sources, dest and --chown", () => expect(copy).toMatchObject({ sources: ["x/src"], dest: "/dst/x", chown: "x" }));
  it("EXPOSE splits words", () => expect(expose).toMatchObject({ ports: ["80", "443"] }));
  it("WORKDIR", () => expect(workdir).toMatchObject({ path: "/w/x" }));
  it("one ENV with several pairs sees the values from before it", () => {
    const g2 = load("FROM a\nENV A=1 B=$A C=${A:-unset}\n");
    const before = mapLookup({});
    expect(expandInstruction(g2.stages[0]!.instructions[0]!, { ...ctx, lookup: before })).toMatchObject({
      pairs: [{ key: "A", value: "1" }, { key: "B", value: "" }, { key: "C", value: "unset" }],
    });
  });
});

const conformance = fileURLToPath(new URL("../../../../shared/conformance/", import.meta.url));
const suites = ["cases", "buildah-suite"].filter((s) => existsSync(conformance + s));
if (suites.length < 2) console.warn(`skipping part of the conformance corpus: ${conformance} is absent`);

describe.each(suites)("every %s Dockerfile parses and lowers", (suite) => {
  const names = readdirSync(conformance + suite).filter((n) => existsSync(`${conformance}${suite}/${n}/Dockerfile`));
  it.each(names)("%s", (name) => {
    const dir = `${conformance}${suite}/${name}/`;
    const args = existsSync(dir + "args") ? readFileSync(dir + "args", "utf8").split("\n").filter((l) => l.trim() !== "") : [];
    const buildArgs: Record<string, string> = {};
    let target: string | undefined;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!.trim();
      const next = (): string => a.includes("=") && a.startsWith("--") ? a.slice(a.indexOf("=") + 1) : args[++i]!.trim();
      if (a.startsWith("--build-arg")) {
        const kv = next();
        const eq = kv.indexOf("=");
        buildArgs[kv.slice(0, eq)] = kv.slice(eq + 1);
      } else if (a.startsWith("--target")) target = next();
    }
    const text = readFileSync(dir + "Dockerfile", "utf8");
    const expectFail = existsSync(dir + "expect-fail");
    let graph: BuildGraph | undefined;
    let error: unknown;
    try {
      graph = load(text, { buildArgs, ...(target ? { target } : {}) });
    } catch (e) {
      error = e;
    }
    if (error !== undefined) {
      expect(error).toBeInstanceOf(DockerfileError);
      // BuildKit rejects these too (at parse or at build time)
      expect(expectFail).toBe(true);
    } else {
      expect(graph!.stages.length).toBeGreaterThan(0);
    }
  });
});
