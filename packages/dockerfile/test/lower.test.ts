import { describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DockerfileError, loadDockerfile, StageArgScope, expandInstruction, mapLookup, type BuildGraph, type Position } from "../src/index.js";

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
  // BuildKit locates these errors by the instruction's lines only (parser.Range, Character 0); the
  // column here is that of the instruction keyword, so it is 1 unless the instruction is indented.
  const expectError = (text: string, code: string, position: Position, message: string) => {
    const e = errorOf(text);
    expect({ code: e.code, position: e.position, message: e.message }).toEqual({ code, position, message });
  };
  const BAD_JSON = 'JSON arrays may only contain strings (write exec form as ["cmd", "arg"], or use shell form)';
  const FORWARD = "is referenced before it is defined (a stage can only use stages defined above it)";
  it("flag not allowed", () => {
    expectError("FROM a\nENV --foo=bar A=b\n", "flag-not-allowed", { line: 2, column: 1, endLine: 2 },
      "Dockerfile:2:1: unknown flag: --foo for ENV (ENV takes no flags)");
    expectError("FROM a\n  COPY --checksum=sha256:00 \\\n  a b\n", "flag-not-allowed", { line: 2, column: 3, endLine: 3 },
      "Dockerfile:2:3: unknown flag: --checksum for COPY (COPY accepts --from, --chown, --chmod, --link, --parents, --exclude)");
  });
  it("bad JSON (nested array)", () => {
    expectError('FROM a\nCMD ["echo", ["x"]]\n', "bad-json", { line: 2, column: 1, endLine: 2 }, `Dockerfile:2:1: ${BAD_JSON}`);
    expectError('FROM a\n\tENTRYPOINT ["sh", \\\n  1]\n', "bad-json", { line: 2, column: 2, endLine: 3 }, `Dockerfile:2:2: ${BAD_JSON}`);
  });
  it("SHELL needs JSON", () => {
    expectError("FROM a\nSHELL /bin/bash -c\n", "bad-json", { line: 2, column: 1, endLine: 2 },
      'Dockerfile:2:1: SHELL requires the arguments to be in JSON form (write SHELL ["executable", "parameters"])');
  });
  it("unterminated heredoc", () => {
    expectError("FROM a\nRUN <<EOF\necho hi\n", "unterminated-heredoc", { line: 2, column: 1, endLine: 3 },
      "Dockerfile:2:1: unterminated heredoc <<EOF (end it with a line holding only EOF)");
  });
  it("unknown stage index", () => {
    expectError("FROM a\nCOPY --from=3 /x /y\n", "unknown-stage", { line: 2, column: 1, endLine: 2 },
      "Dockerfile:2:1: stage index 3 does not exist (the Dockerfile has 1 stage) (stage indexes count FROM lines from 0)");
  });
  it("RUN --mount from= names stages by name only: a number is an image, as in BuildKit", () => {
    const g = load("FROM a AS x\nFROM b\nRUN --mount=from=0,target=/m --mount=from=7,target=/n --mount=from=X,target=/o true\n");
    expect(g.stages[1]).toMatchObject({ dependsOn: [0], imageRefs: ["0", "7"] });
  });
  it("forward stage reference", () => {
    expectError("FROM a AS one\nCOPY --from=two /x /y\nFROM b AS two\n", "forward-stage-reference", { line: 2, column: 1, endLine: 2 },
      `Dockerfile:2:1: stage "two" ${FORWARD}`);
    expectError("FROM a\n COPY --from=1 /x /y\nFROM b\n", "forward-stage-reference", { line: 2, column: 2, endLine: 2 },
      `Dockerfile:2:2: stage "1" ${FORWARD}`);
    expectError("FROM a\nRUN --mount=from=two,target=/m \\\n  true\nFROM b AS two\n", "forward-stage-reference", { line: 2, column: 1, endLine: 3 },
      `Dockerfile:2:1: stage "two" ${FORWARD}`);
  });
  it("duplicate stage name", () => {
    expectError("FROM a AS x\n  FROM b AS X\n", "duplicate-stage", { line: 2, column: 3, endLine: 2 },
      'Dockerfile:2:3: duplicate stage name "x" (the name is already used at line 1; choose another)');
  });
  it("no FROM", () => {
    expectError("ARG A=1\nRUN echo\n", "no-from", { line: 2, column: 1, endLine: 2 },
      "Dockerfile:2:1: no build stage in current context: RUN before FROM (start the Dockerfile with FROM (only ARG may come before it))");
    expectError("# only args\n\nARG A=1\n", "no-from", { line: 3, column: 1 },
      "Dockerfile:3:1: no FROM instruction in the Dockerfile (add FROM image (or FROM scratch))");
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
    "RUN --mount=type=bind,from=base,target=/b true",
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

// Which fields BuildKit expands: the commands that implement Expand in moby/buildkit
// frontend/dockerfile/instructions/commands.go (ENV, LABEL, ARG, ADD: --chown, --checksum, sources
// and dest; COPY: --chown, sources and dest; WORKDIR, USER, VOLUME, STOPSIGNAL; RUN: its --mount
// values), plus COPY --from (dockerfile2llb, when it resolves the source stage), --chmod (BuildKit
// 0.16, moby/buildkit#5151) and EXPOSE (dispatchExpose). CMD, ENTRYPOINT, SHELL, HEALTHCHECK,
// MAINTAINER, ONBUILD and RUN's command have no Expand: the shell or a later build sees them as written.
describe("expansion covers every instruction as BuildKit does", () => {
  const ctx = { lookup: mapLookup({ X: "x", M: "0755", S: "src", SIG: "SIGTERM", U: "app", C: "sha256:abc" }), escapeToken: "\\", file: "Dockerfile" };
  const expandAll = (text: string) => load(text).stages.at(-1)!.instructions.map((i) => expandInstruction(i, ctx));
  it("VOLUME, USER, STOPSIGNAL and ARG defaults are expanded", () => {
    const [volume, volumeJson, user, stop, arg] = expandAll('FROM a\nVOLUME /data/$X ${X}2\nVOLUME ["/j/$X"]\nUSER $U:${X}\nSTOPSIGNAL $SIG\nARG A=$X-1 B NAME=${U:-none}\n');
    expect(volume).toMatchObject({ kind: "volume", paths: ["/data/x", "x2"] });
    expect(volumeJson).toMatchObject({ kind: "volume", paths: ["/j/x"] });
    expect(user).toMatchObject({ kind: "user", user: "app:x" });
    expect(stop).toMatchObject({ kind: "stopsignal", signal: "SIGTERM" });
    expect(arg).toMatchObject({ kind: "arg", args: [{ key: "A", value: "x-1" }, { key: "B" }, { key: "NAME", value: "app" }] });
  });
  it("COPY --chmod, COPY --from and RUN --mount are expanded", () => {
    const [copy, run] = expandAll("FROM a AS x\nFROM b\nCOPY --from=$X --chmod=$M --chown=$U $S /d\nRUN --mount=type=bind,from=x,source=$S,target=/m/$S echo $X\n");
    expect(copy).toMatchObject({ kind: "copy", from: "x", chmod: "0755", chown: "app", sources: ["src"], dest: "/d" });
    expect(run).toMatchObject({ kind: "run", mounts: [{ type: "bind", from: "x", target: "/m/src", source: "src", readwrite: false }], cmd: { form: "shell", command: "echo $X" } });
  });
  it("RUN --network and --security are checked as written, at the line", () => {
    const run = load("FROM a\nRUN --network=none --security=insecure true\n").stages[0]!.instructions[0];
    expect(run).toMatchObject({ kind: "run", network: "none", security: "insecure" });
    expect(() => load("FROM a\nRUN --network=bridge true\n")).toThrow(expect.objectContaining({ code: "bad-flag", position: expect.objectContaining({ line: 2 }), message: expect.stringContaining('invalid network mode "bridge"') }));
    expect(() => load("FROM a\nRUN --network=$N true\n")).toThrow('invalid network mode "$N"');
    expect(() => load("FROM a\nRUN --security=privileged true\n")).toThrow(expect.objectContaining({ code: "bad-flag", message: expect.stringContaining('security "privileged" is not valid') }));
  });
  it("RUN --mount from= is not expanded: a variable in it is an error at the line, as in BuildKit", () => {
    for (const from of ["$X", "x${X}"]) {
      expect(() => load(`FROM a AS x\nFROM b\nRUN --mount=type=bind,from=${from},target=/m true\n`)).toThrow(
        expect.objectContaining({ code: "bad-mount", position: expect.objectContaining({ line: 3 }), message: expect.stringContaining("'from' doesn't support variable expansion, define alias stage instead") }));
    }
  });
  it("ADD --checksum, --chown, --chmod, sources and dest are expanded", () => {
    const [add] = expandAll("FROM a\nADD --checksum=$C --chown=$U --chmod=$M https://example.com/$S.tgz /d/$X\n");
    expect(add).toMatchObject({ kind: "add", checksum: "sha256:abc", chown: "app", chmod: "0755", sources: ["https://example.com/src.tgz"], dest: "/d/x" });
  });
  it("ENTRYPOINT, SHELL, HEALTHCHECK, CMD, RUN, MAINTAINER and ONBUILD are left as written", () => {
    const text = 'FROM a\nENTRYPOINT ["/bin/$X", "$U"]\nENTRYPOINT run $X\nSHELL ["/bin/$X", "-c"]\n' +
      'HEALTHCHECK --interval=5s CMD check $X\nHEALTHCHECK CMD ["probe", "$U"]\nCMD ["$X"]\nRUN ["echo", "$X"]\nRUN echo ${X:-y}\n' +
      "MAINTAINER $U\nONBUILD RUN echo $X\n";
    const instrs = load(text).stages[0]!.instructions;
    const expanded = instrs.map((i) => expandInstruction(i, ctx));
    expect(expanded).toEqual(instrs.map((i) => (i.kind === "run" ? { ...i, mounts: [] } : i))); // a RUN gains its typed mounts (none here)
    expect(expanded.map((i) => i.kind)).toEqual(["entrypoint", "entrypoint", "shell", "healthcheck", "healthcheck", "cmd", "run", "run", "maintainer", "onbuild"]);
    expect(expanded[0]).toMatchObject({ cmd: { form: "exec", args: ["/bin/$X", "$U"] } });
    expect(expanded[1]).toMatchObject({ cmd: { form: "shell", command: "run $X" } });
    expect(expanded[2]).toMatchObject({ shell: ["/bin/$X", "-c"] });
    expect(expanded[3]).toMatchObject({ test: ["CMD-SHELL", "check $X"] });
    expect(expanded[4]).toMatchObject({ test: ["CMD", "probe", "$U"] });
    expect(expanded[5]).toMatchObject({ cmd: { form: "exec", args: ["$X"] } });
    expect(expanded[6]).toMatchObject({ cmd: { form: "exec", args: ["echo", "$X"] } });
    expect(expanded[7]).toMatchObject({ cmd: { form: "shell", command: "echo ${X:-y}" } });
    expect(expanded[8]).toMatchObject({ maintainer: "$U" });
    expect(expanded[9]).toMatchObject({ expression: "RUN echo $X" });
  });
});

// BuildKit's parseCopy/parseAdd at HEAD: --parents a bool flag, --exclude repeatable (and never
// expanded: CopyCommand.Expand leaves ExcludePatterns alone), ADD --unpack a bool kept only when given.
describe("COPY --parents/--exclude and ADD --exclude/--unpack", () => {
  const ctx = { lookup: mapLookup({ X: "x" }), escapeToken: "\\", file: "Dockerfile" };
  const instrs = (text: string) => load(text).stages[0]!.instructions.map((i) => expandInstruction(i, ctx));
  it("--parents[=bool]", () => {
    expect(instrs("FROM a\nCOPY a /b/\nCOPY --parents a /b/\nCOPY --parents=false a /b/\nCOPY --parents=TRUE a /b/\n").map((i) => (i as { parents: boolean }).parents))
      .toEqual([false, true, false, true]);
    expect(errorOf("FROM a\nCOPY --parents=yes a /b/\n").message).toBe("Dockerfile:2:1: expecting boolean value for flag parents, not: yes");
    expect(errorOf("FROM a\nADD --parents a /b/\n").message).toMatch(/^Dockerfile:2:1: unknown flag: --parents for ADD/);
  });
  it("--exclude, repeatable, as written", () => {
    const [copy, add] = instrs("FROM a\nCOPY --exclude=*.md --exclude=$X/** a /b/\nADD --exclude=tmp a /b/\n");
    expect(copy).toMatchObject({ exclude: ["*.md", "$X/**"] });
    expect(add).toMatchObject({ exclude: ["tmp"] });
    expect(errorOf("FROM a\nCOPY --exclude a /b/\n").message).toMatch(/^Dockerfile:2:1: missing a value on flag: exclude/);
  });
  it("ADD --unpack[=bool], absent when not given", () => {
    const [plain, bare, no, yes] = instrs("FROM a\nADD a /b/\nADD --unpack a /b/\nADD --unpack=false a /b/\nADD --unpack=true https://x/a.tgz /b/\n");
    expect(plain).not.toHaveProperty("unpack");
    expect([bare, no, yes].map((i) => (i as { unpack?: boolean }).unpack)).toEqual([true, false, true]);
    expect(errorOf("FROM a\nCOPY --unpack a /b/\n").message).toMatch(/^Dockerfile:2:1: unknown flag: --unpack for COPY/);
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
