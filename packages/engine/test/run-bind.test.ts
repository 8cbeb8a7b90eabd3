/**
 * RUN --mount=type=bind: the context (through .dockerignore), an earlier stage or an image bound
 * read-only, or writable into a throwaway copy; what is bound is in the step's cache key.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, type BuildResult } from "../src/index.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-bind-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  await storeBusyboxBase(root, "base:1", work);
  mkdirSync(join(ctx, "src"), { recursive: true });
  writeFileSync(join(ctx, "src", "a.txt"), "a\n");
  writeFileSync(join(ctx, "secret.txt"), "ignored\n");
  writeFileSync(join(ctx, ".dockerignore"), "secret.txt\n");
  writeFileSync(join(ctx, "Dockerfile"), [
    "FROM base:1 AS data",
    "RUN mkdir /d && echo from-stage > /d/s.txt",
    "FROM base:1",
    "RUN --mount=type=bind,target=/ctx cat /ctx/src/a.txt > /a.out && ls -a /ctx > /ls.out && (touch /ctx/x 2>/dev/null && echo writable || echo read-only) > /ro.out",
    "RUN --mount=type=bind,from=data,source=/d,target=/m cat /m/s.txt > /s.out",
    "WORKDIR /app",
    "RUN --mount=type=bind,source=src,target=w,rw=true echo x > w/new && cat w/new w/a.txt > /rw.out",
  ].join("\n"));
}, 60_000);

let n = 0;
async function buildIt(): Promise<{ r: BuildResult; out: string }> {
  const out = join(work, `out-${n++}`);
  const r = await build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" }, outputs: [{ type: "local", dest: out }] });
  return { r, out };
}
const ran = (r: BuildResult) => r.steps.filter((s) => !s.cached && s.instruction.startsWith("RUN")).map((s) => s.position);

describe("RUN --mount=type=bind", () => {
  it("binds the context as .dockerignore shows it, read-only; a stage; a writable throwaway copy", async () => {
    const { out } = await buildIt();
    expect(readFileSync(join(out, "a.out"), "utf8")).toBe("a\n");
    expect(readFileSync(join(out, "ls.out"), "utf8").split("\n").filter(Boolean).sort()).toEqual([".", "..", ".dockerignore", "Dockerfile", "src"]);
    expect(readFileSync(join(out, "ro.out"), "utf8")).toBe("read-only\n");
    expect(readFileSync(join(out, "s.out"), "utf8")).toBe("from-stage\n");
    expect(readFileSync(join(out, "rw.out"), "utf8")).toBe("x\na\n");
    // the writes went nowhere: not the context, not the image
    expect(existsSync(join(ctx, "src", "new"))).toBe(false);
    expect(existsSync(join(out, "app", "w", "new"))).toBe(false);
    expect(existsSync(join(out, "m", "s.txt"))).toBe(false);
  });
  it("what is bound is in the key: a changed file reruns, an ignored one does not", async () => {
    expect(ran((await buildIt()).r)).toEqual([]);
    writeFileSync(join(ctx, "secret.txt"), "still ignored\n");
    expect(ran((await buildIt()).r)).toEqual([]);
    writeFileSync(join(ctx, "src", "a.txt"), "a2\n");
    const { r, out } = await buildIt();
    expect(ran(r)).toEqual(["Dockerfile:4", "Dockerfile:5", "Dockerfile:7"]);
    expect(readFileSync(join(out, "rw.out"), "utf8")).toBe("x\na2\n");
  });
  it("a fifo or a device in the context is made anew in a filtered or writable tree, never read (a read would hang or fill the disk)", async () => {
    const special = join(work, "special");
    mkdirSync(special, { recursive: true });
    writeFileSync(join(special, "f.txt"), "f\n");
    execFileSync("mkfifo", ["-m", "0640", join(special, "p")]);
    execFileSync("mknod", ["-m", "0640", join(special, "null"), "c", "1", "3"]);
    writeFileSync(join(special, ".dockerignore"), "nothing-ignored\n");
    const before = ["p", "null"].map((f) => { const st = lstatSync(join(special, f)); return `${st.ino} ${st.mode} ${st.uid}`; });
    // were the fifo read, this guard would end the read after 15 s (an empty file then: the test fails rather than hangs)
    const guard = spawn("timeout", ["30", "sh", "-c", `sleep 15; : > ${join(special, "p")}`], { stdio: "ignore" });
    try {
      const out = join(work, `out-${n++}`);
      await build({
        context: special, root, platform: { os: "linux", architecture: "amd64" }, outputs: [{ type: "local", dest: out }],
        dockerfileText: [
          "FROM base:1",
          "RUN --mount=type=bind,target=/m stat -c '%n %F %a %t:%T' /m/p /m/null /m/f.txt > /ro.out",
          "RUN --mount=type=bind,target=/m,rw=true sh -c \"stat -c '%n %F %a %t:%T' /m/p /m/null > /rw.out; chmod 600 /m/p /m/null; chown 7 /m/p\"",
        ].join("\n"),
      });
      expect(readFileSync(join(out, "ro.out"), "utf8")).toBe("/m/p fifo 640 0:0\n/m/null character special file 640 1:3\n/m/f.txt regular file 644 0:0\n");
      expect(readFileSync(join(out, "rw.out"), "utf8")).toBe("/m/p fifo 640 0:0\n/m/null character special file 640 1:3\n");
      // the writable tree's nodes are its own: the context's keep their modes and owners
      expect(["p", "null"].map((f) => { const st = lstatSync(join(special, f)); return `${st.ino} ${st.mode} ${st.uid}`; })).toEqual(before);
    } finally {
      guard.kill();
    }
  }, 60_000);
  it("a missing source is a clear error at its line", async () => {
    writeFileSync(join(ctx, "Dockerfile.bad"), "FROM base:1\nRUN --mount=type=bind,source=nope,target=/n true\n");
    await expect(build({ context: ctx, dockerfile: join(ctx, "Dockerfile.bad"), root, platform: { os: "linux", architecture: "amd64" } }))
      .rejects.toMatchObject({ message: expect.stringContaining(`source "nope" not found in the build context`), position: { line: 2 } });
  });
});
