/**
 * RUN --mount=type=cache with from=/source= and mode/uid/gid, as BuildKit 0.13 (facts checked
 * against it): a new cache starts as a copy of the stage's or image's root, the source path
 * mounted; it is then the cache's own, across RUNs and builds, until the source changes (another
 * cache); mode/uid/gid apply to a new directory only when no source is given; the seed is part of
 * the step's key.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BuildError, type BuildResult } from "../src/index.js";
import { buildHarness } from "./helpers/build-harness.js";

const { buildText: buildWith } = buildHarness("tsbuild-cache-from-");
const buildText = (text: string, buildArgs: Record<string, string> = {}) => buildWith(text, { buildArgs });
const read = (out: string, f: string) => readFileSync(join(out, f), "utf8");
const ran = (r: BuildResult) => r.steps.filter((s) => !s.cached && s.instruction.startsWith("RUN")).map((s) => Number(s.position.split(":").pop()));

const SEED = [
  "FROM base:1 AS seed",
  "ARG V=1",
  "RUN mkdir -p /s/sub /other && echo v$V > /s/file && echo deep > /s/sub/deep && chown 123:45 /s/sub && chmod 700 /s/sub && ln -s sub /s/link && echo o > /other/o",
  "FROM base:1",
];

describe("RUN --mount=type=cache,from=STAGE", () => {
  it("starts as the stage's source path (owners, modes, links), then keeps what RUNs write; one tree for every source", async () => {
    const { out } = await buildText([
      ...SEED,
      "RUN --mount=type=cache,target=/c,id=cf1,from=seed,source=/s ls -ln /c | awk 'NR>1 {print $1, $3, $4, $NF}' > /seeded; cat /c/file >> /seeded; echo changed > /c/file; touch /c/new",
      "RUN --mount=type=cache,target=/c,id=cf1,from=seed,source=s ls /c > /again; cat /c/file >> /again",
      "RUN --mount=type=cache,target=/c,id=cf1,from=seed ls /c/s > /root-view; cat /c/other/o >> /root-view",
      "RUN --mount=type=cache,target=/c,id=cf1,from=seed,source=/s/link ls /c > /via-link",
      "RUN --mount=type=cache,target=/c,id=cf1 ls -A /c > /plain",
      "RUN --mount=type=cache,target=/c,id=cf1,from=seed,source=/s,ro (touch /c/x 2>/dev/null && echo rw || echo ro) > /ro",
    ].join("\n") + "\n");
    expect(read(out, "seeded")).toBe("-rw-r--r-- 0 0 file\nlrwxrwxrwx 0 0 sub\ndrwx------ 123 45 sub\nv1\n");
    expect(read(out, "again")).toBe("file\nlink\nnew\nsub\nchanged\n");
    expect(read(out, "root-view")).toBe("file\nlink\nnew\nsub\no\n");
    expect(read(out, "via-link")).toBe("deep\n");
    expect(read(out, "plain")).toBe(""); // a cache of the same id without from is another cache
    expect(read(out, "ro")).toBe("ro\n");
  });
  it("persists across builds while the stage is the same; a changed stage is a new cache, and reruns the step", async () => {
    const text = [...SEED, "RUN --mount=type=cache,target=/c,id=cf2,from=seed,source=/s cat /c/file > /seen; ls /c > /list; touch /c/mark"].join("\n") + "\n";
    const a = await buildText(text);
    expect(read(a.out, "list")).not.toContain("mark");
    // the same step with another command: the cache the first build left
    const b = await buildText(text.replace("touch /c/mark", "touch /c/mark2"));
    expect(read(b.out, "list")).toContain("mark");
    const c = await buildText(text.replace("touch /c/mark", "touch /c/mark2"), { V: "2" });
    expect(ran(c.r)).toEqual([3, 5]);
    expect(read(c.out, "seen")).toBe("v2\n");
    expect(read(c.out, "list")).not.toContain("mark");
  });
  it("mode/uid/gid: without source a directory of the stage's (/cache) made with them; with source they do nothing", async () => {
    const { out } = await buildText([
      ...SEED,
      "RUN --mount=type=cache,target=/c,id=cf3,from=seed,uid=77,mode=0700 stat -c '%a %u %g' /c > /owned; ls -A /c >> /owned",
      "RUN --mount=type=cache,target=/c,id=cf3,from=seed,source=/s,uid=77,mode=0700 stat -c '%a %u %g' /c > /sourced",
      "RUN --mount=type=cache,target=/c,id=cf3b,uid=1000,gid=7,mode=0750 stat -c '%a %u %g' /c > /plain-owned",
    ].join("\n") + "\n");
    expect(read(out, "owned")).toBe("700 77 0\n");
    expect(read(out, "sourced")).toBe("755 0 0\n");
    expect(read(out, "plain-owned")).toBe("750 1000 7\n");
  });
  it("from an image; source without from names a path an earlier RUN made in the cache", async () => {
    const { out } = await buildText([
      "FROM base:1",
      "RUN --mount=type=cache,target=/c,id=cf4,from=base:1,source=/etc ls /c > /etc-list",
      "RUN --mount=type=cache,target=/c,id=cf5 mkdir -p /c/sub && echo made > /c/sub/f",
      "RUN --mount=type=cache,target=/m,id=cf5,source=/sub cat /m/f > /sub-f",
    ].join("\n") + "\n");
    expect(read(out, "etc-list")).toBe("group\npasswd\n");
    expect(read(out, "sub-f")).toBe("made\n");
  });
  it("a source missing from the stage, or from the cache, fails at its line", async () => {
    const e = await buildText([...SEED, "RUN --mount=type=cache,target=/c,id=cf6,from=seed,source=/nope true"].join("\n") + "\n").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BuildError);
    expect(e).toMatchObject({ position: { line: 5 }, message: 'RUN --mount=type=cache source "/nope" not found in seed' });
    const f = await buildText("FROM base:1\nRUN --mount=type=cache,target=/c,id=cf7,source=/nope true\n").catch((x: unknown) => x);
    expect(f).toMatchObject({ position: { line: 2 }, message: expect.stringContaining('cache mount source "/nope" not found in cache "cf7"') });
  });
  it("a fifo in what a cache starts from is not copied yet: said at the line", async () => {
    const e = await buildText("FROM base:1 AS f\nRUN mkdir /s && mkfifo /s/pipe\nFROM base:1\nRUN --mount=type=cache,target=/c,id=cf8,from=f,source=/s true\n").catch((x: unknown) => x);
    expect(e).toMatchObject({ position: { line: 4 }, message: "RUN --mount=type=cache,from=f: /s/pipe is a fifo, which cannot be copied into a cache (not supported yet)" });
  });
});
