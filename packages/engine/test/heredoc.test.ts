/**
 * Heredocs in the engine, as dockerfile 1.7 builds them: the command a RUN runs (runCommand), the
 * history each form writes (every expected `created_by` below was read from the modern BuildKit's
 * image of the same fixtures/cases/heredoc-* case), the cache keys (a `#!` script's content, the
 * expanded content of a COPY heredoc), and the errors at the line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadDockerfile, type RunInstruction } from "@tsbuild/dockerfile";
import { Store, type ImageConfig } from "@tsbuild/oci";
import { build, BuildError, type BuildResult } from "../src/index.js";
import { runCommand } from "../src/instructions/run-command.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";

const cases = fileURLToPath(new URL("../../../fixtures/cases/", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "tsbuild-heredoc-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
const BASE = "localhost:5000/busybox:latest";
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await storeBusyboxBase(root, BASE, work);
  mkdirSync(ctx, { recursive: true });
}, 60_000);

const amd64 = { os: "linux", architecture: "amd64" };
function runOf(text: string): RunInstruction {
  const stage = loadDockerfile(`FROM a\n${text}`, "Dockerfile", { platform: amd64, buildPlatform: amd64 }).stages[0]!;
  return stage.instructions.find((i): i is RunInstruction => i.kind === "run")!;
}
const SH = ["/bin/sh", "-c"];

describe("runCommand: what a RUN with heredocs runs", () => {
  it.each([
    ["one heredoc is the script", "RUN <<EOF\necho hi > /a\necho $A >> /a\nEOF\n", [...SH, "echo hi > /a\necho $A >> /a\n"]],
    ["a quoted delimiter changes nothing", "RUN <<'EOF'\necho \"$A\"\nEOF\n", [...SH, 'echo "$A"\n']],
    ["<<- strips the tabs", "RUN <<-EOF\n\techo tab > /f\n\tEOF\n", [...SH, "echo tab > /f\n"]],
    ["an fd prefix is still the whole command", "RUN 3<<EOF\necho x\nEOF\n", [...SH, "echo x\n"]],
    ["an empty heredoc is an empty script", "RUN <<EOF\nEOF\n", [...SH, ""]],
    ["an interpreter after it: the shell gets line and body", "RUN <<EOT sh\necho x > /c\nEOT\n", [...SH, "<<EOT sh\necho x > /c\nEOT"]],
    ["a heredoc as input", "RUN python3 <<EOF\nprint(1)\nEOF\n", [...SH, "python3 <<EOF\nprint(1)\nEOF"]],
    ["several, each body with its raw tabs and bare delimiter",
      "RUN cat <<EOF1 > /g; cat <<-EOF2 >> /g\none\nEOF1\n\ttwo\n\tEOF2\n", [...SH, "cat <<EOF1 > /g; cat <<-EOF2 >> /g\none\nEOF1\n\ttwo\nEOF2"]],
    ["an fd prefix with a command", "RUN 3<<EOF cat /dev/fd/3 > /h\nfd3\nEOF\n", [...SH, "3<<EOF cat /dev/fd/3 > /h\nfd3\nEOF"]],
    ["a tab before #! under <<-: no file, the stripped script in the shell",
      "RUN <<-EOF\n\t#!/bin/sh\n\techo $0\n\tEOF\n", [...SH, "#!/bin/sh\necho $0\n"]],
    ["exec form", 'RUN ["echo", "<<EOF"]\n', ["echo", "<<EOF"]],
  ])("%s", (_name, text, args) => {
    const c = runCommand(runOf(text), SH, "linux");
    expect(c).toEqual({ args });
  });
  it("a #! heredoc runs from /dev/pipes/NAME, through SHELL", () => {
    const i = runOf("RUN <<-SCRIPT\n#!/bin/sh -e\n\techo $0\nSCRIPT\n");
    expect(runCommand(i, ["/bin/sh", "-ec"], "linux")).toEqual({
      args: ["/bin/sh", "-ec", "/dev/pipes/SCRIPT"], script: { name: "SCRIPT", data: "#!/bin/sh -e\necho $0\n" },
    });
    // not on Windows, as BuildKit
    expect(runCommand(i, ["cmd", "/S", "/C"], "windows")).toEqual({ args: ["cmd", "/S", "/C", "#!/bin/sh -e\necho $0\n"] });
  });
});

async function configOf(imageId: string): Promise<ImageConfig> {
  const store = await Store.open(root);
  return JSON.parse((await store.content.readBytes(imageId as `sha256:${string}`)).toString("utf8")) as ImageConfig;
}
/** The created_by of every history entry (the test base image has none; BuildKit's had one, left out above). */
async function historyOf(r: BuildResult): Promise<string[]> {
  return ((await configOf(r.imageId)).history ?? []).map((h) => h.created_by ?? "");
}
function buildCase(name: string, buildArgs: Record<string, string> = {}): Promise<BuildResult> {
  return build({ context: join(cases, name), root, platform: amd64, buildArgs, network: "host" });
}

describe("the history of each heredoc form is BuildKit's", () => {
  const W = "|1 WHO=builder /bin/sh -c";
  it("RUN forms", async () => {
    expect(await historyOf(await buildCase("heredoc-run-forms"))).toEqual([
      "ARG WHO=builder",
      "ENV GREETING=hello",
      `RUN ${W} echo "$GREETING $WHO" > /single\necho second line >> /single\n # buildkit`,
      `RUN ${W} echo "$GREETING quoted" > /single-quoted\n # buildkit`,
      `RUN ${W} <<EOT sh\necho "from sh <<EOT" > /interp\nEOT # buildkit`,
      `RUN ${W} sh <<EOF\necho "sh first" > /interp2\nEOF # buildkit`,
      `RUN ${W} cat <<EOF > /cat\nline $WHO\n  indented \\$escaped\nEOF # buildkit`,
      `RUN ${W} cat <<'EOF' > /cat-quoted\nliteral $WHO \`not run\`\nEOF # buildkit`,
      `RUN ${W} cat <<ONE > /several; cat <<TWO >> /several\nfirst\nONE\nsecond\nTWO # buildkit`,
      `RUN ${W} 3<<EOF cat /dev/fd/3 > /fd3\nthrough fd 3\nEOF # buildkit`,
      `RUN ${W} echo fd-prefixed whole command > /fd-whole\n # buildkit`,
      `RUN ${W} <<EOF # a comment\necho commented > /commented\nEOF # buildkit`,
      `RUN ${W}  # buildkit`,
    ]);
  }, 60_000);
  it("RUN with #!", async () => {
    expect(await historyOf(await buildCase("heredoc-run-shebang"))).toEqual([
      "ARG WHO=builder",
      `RUN ${W} /dev/pipes/EOF # buildkit`,
      `RUN ${W} /dev/pipes/SCRIPT # buildkit`,
      `RUN ${W} /dev/pipes/AWK # buildkit`,
      `RUN ${W} test ! -e /dev/pipes && echo gone > /after # buildkit`,
      "USER nobody",
      `RUN ${W} /dev/pipes/EOF # buildkit`,
      "USER root",
      `RUN ${W} #!/bin/sh\necho "not a file: $0" > /chomped-shebang\n # buildkit`,
    ]);
  }, 60_000);
  it("COPY destinations: paths first, then each heredoc as <<NAME", async () => {
    expect(await historyOf(await buildCase("heredoc-copy-dest"))).toEqual([
      "COPY <<EOF /into/dir/ # buildkit",
      "COPY <<EOF /named.txt # buildkit",
      "WORKDIR /work",
      "COPY <<EOF relative.txt # buildkit",
      "COPY <<EOF sub/ # buildkit",
      "COPY <<EOF . # buildkit",
      "RUN /bin/sh -c mkdir -p /existing # buildkit",
      "COPY <<EOF /existing # buildkit",
      "COPY <<ONE <<TWO /several/ # buildkit",
      "COPY ctx/file.txt <<INLINE /mixed/ # buildkit",
      "COPY ctx/file.txt <<LAST /onefile # buildkit",
      "COPY <<A <<B /twofiles # buildkit",
      "COPY <<../up <<./here /names/ # buildkit",
      "COPY <<rootfile / # buildkit",
      "COPY ctx/other.txt /replaced # buildkit",
      "COPY <<EOF /replaced # buildkit",
    ]);
  }, 60_000);
  it("COPY/ADD --chown and --chmod, in BuildKit's order, --chown expanded", async () => {
    expect(await historyOf(await buildCase("heredoc-chmod-chown"))).toEqual([
      "ARG OWNER=65534",
      "COPY --chmod=755 <<EOF /bin/hello # buildkit",
      "COPY --chown=1:2 <<EOF /owned/by/ids/file # buildkit",
      "COPY --chown=nobody:nogroup --chmod=600 <<EOF /named/owner # buildkit",
      "COPY --chown=65534 --chmod=640 <<A <<B /both/ # buildkit",
      "USER nobody",
      "COPY <<EOF /user-is-not-owner # buildkit",
      "RUN |1 OWNER=65534 /bin/sh -c /bin/hello > /tmp/ran # buildkit",
    ]);
    expect(await historyOf(await buildCase("heredoc-add"))).toEqual([
      "ARG WHAT=added",
      "ADD <<EOF /add-heredoc # buildkit",
      "ADD a.tar <<EOF /unpacked/ # buildkit",
      "ADD --chown=7:8 --chmod=700 plain.txt <<EOF /add-flags/ # buildkit",
    ]);
  }, 60_000);
});

let n = 0;
async function buildText(text: string, buildArgs: Record<string, string> = {}): Promise<{ r: BuildResult; out: string }> {
  const file = join(ctx, `Dockerfile.${n}`);
  const out = join(work, `out-${n++}`);
  writeFileSync(file, text);
  const r = await build({ context: ctx, dockerfile: file, root, platform: amd64, buildArgs, outputs: [{ type: "local", dest: out }] });
  return { r, out };
}
const lastStep = (r: BuildResult) => r.steps[r.steps.length - 1]!;

describe("cache keys", () => {
  it("a #! heredoc's content is in its RUN's key (the history names only /dev/pipes/NAME)", async () => {
    const script = (word: string) => `FROM ${BASE}\nRUN <<EOF\n#!/bin/sh\necho ${word} > /out\nEOF\n`;
    const a = await buildText(script("one"));
    const b = await buildText(script("two"));
    expect(readFileSync(join(b.out, "out"), "utf8")).toBe("two\n");
    expect(lastStep(b.r).cached).toBe(false);
    expect(lastStep(b.r).cacheKey).not.toBe(lastStep(a.r).cacheKey);
    const again = await buildText(script("one"));
    expect(lastStep(again.r)).toMatchObject({ cached: true, cacheKey: lastStep(a.r).cacheKey });
    // the script is not left in the image
    expect(() => statSync(join(again.out, "dev/pipes"))).toThrow();
  }, 60_000);
  it("a COPY heredoc's key has its expanded content: a build arg it uses misses, in a quoted one it does not", async () => {
    const text = (q: string) => `FROM ${BASE}\nARG V\nCOPY <<${q}EOF${q} /f\nv=$V\nEOF\n`;
    const a = await buildText(text(""), { V: "1" });
    const b = await buildText(text(""), { V: "2" });
    expect(readFileSync(join(b.out, "f"), "utf8")).toBe("v=2\n");
    expect(lastStep(b.r).cached).toBe(false);
    expect(lastStep(b.r).cacheKey).not.toBe(lastStep(a.r).cacheKey);
    expect(lastStep((await buildText(text(""), { V: "1" })).r)).toMatchObject({ cached: true, cacheKey: lastStep(a.r).cacheKey });
    const qa = await buildText(text("'"), { V: "1" });
    const qb = await buildText(text("'"), { V: "2" });
    expect(readFileSync(join(qb.out, "f"), "utf8")).toBe("v=$V\n");
    expect(lastStep(qb.r)).toMatchObject({ cached: true, cacheKey: lastStep(qa.r).cacheKey });
  }, 60_000);
  it("so does an ENV the content uses", async () => {
    const text = (v: string) => `FROM ${BASE}\nENV V=${v}\nCOPY <<EOF /f\n\${V}\nEOF\n`;
    const a = await buildText(text("x"));
    const b = await buildText(text("y"));
    expect(readFileSync(join(b.out, "f"), "utf8")).toBe("y\n");
    expect(lastStep(b.r).cacheKey).not.toBe(lastStep(a.r).cacheKey);
  }, 60_000);
});

describe("errors at the line", () => {
  it("a heredoc name with a directory in it fails its COPY or RUN", async () => {
    for (const text of [`FROM ${BASE}\nCOPY <<a/b /d/\nx\na/b\n`, `FROM ${BASE}\nRUN <<a/b\n#!/bin/sh\nexit 0\na/b\n`]) {
      const e = await buildText(text).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BuildError);
      expect(e).toMatchObject({ position: { line: 2 }, message: expect.stringContaining("heredoc <<a/b: the file's name has a directory in it") });
    }
  }, 60_000);
  it("a heredoc name longer than a file name can be fails its COPY or RUN, naming no host path", async () => {
    const long = "n".repeat(300);
    for (const text of [`FROM ${BASE}\nCOPY <<${long} /d/\nx\n${long}\n`, `FROM ${BASE}\nRUN <<${long}\n#!/bin/sh\nexit 0\n${long}\n`]) {
      const e = await buildText(text).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(BuildError);
      expect(e).toMatchObject({ position: { line: 2 }, message: expect.stringMatching(/(^|: )heredoc <<n{40}…: the file's name is longer than 255 bytes \(file name too long\)$/) });
    }
  }, 60_000);
  it("several sources onto one file copy in turn (no error): the last one wins", async () => {
    cpSync(join(cases, "heredoc-copy-dest/ctx/file.txt"), join(ctx, "file.txt"));
    const { out } = await buildText(`FROM ${BASE}\nCOPY <<EOF file.txt /one\nheredoc\nEOF\n`);
    expect(readFileSync(join(out, "one"), "utf8")).toBe("heredoc\n");
  }, 60_000);
});
