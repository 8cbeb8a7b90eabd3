/**
 * The build args BuildKit reads itself that change what RUN steps see: BUILDKIT_CACHE_MOUNT_NS (every
 * cache mount's id in a namespace: another namespace, other caches, on one store; in the RUN's key)
 * and BUILDKIT_SANDBOX_HOSTNAME (the hostname and /etc/hosts of every RUN, in every stage; in the
 * RUN's key when given, as in BuildKit's ExecOp meta).
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildResult } from "../src/index.js";
import { buildHarness } from "./helpers/build-harness.js";

const { buildText: buildWith } = buildHarness("tsbuild-bkargs-");
const buildText = (text: string, buildArgs: Record<string, string> = {}) => buildWith(text, { buildArgs });
const read = (out: string, name: string) => readFileSync(join(out, name), "utf8");
const runSteps = (r: BuildResult) => r.steps.filter((s) => s.instruction.startsWith("RUN"));

describe("BUILDKIT_CACHE_MOUNT_NS", () => {
  // WHAT changes every RUN's key, so each build runs its RUN and sees the cache as the builds before left it
  const dockerfile = [
    "FROM base:1",
    "ARG WHAT",
    "RUN --mount=type=cache,target=/c,id=ns-test (cat /c/log 2>/dev/null; echo \"$WHAT\") > /seen && echo \"$WHAT\" >> /c/log",
  ].join("\n") + "\n";
  it("another namespace is another cache on the same store; the same namespace is the same cache", async () => {
    const one = await buildText(dockerfile, { BUILDKIT_CACHE_MOUNT_NS: "team-a", WHAT: "a1" });
    expect(read(one.out, "seen")).toBe("a1\n");
    const other = await buildText(dockerfile, { BUILDKIT_CACHE_MOUNT_NS: "team-b", WHAT: "b1" });
    expect(read(other.out, "seen")).toBe("b1\n");
    const none = await buildText(dockerfile, { WHAT: "n1" });
    expect(read(none.out, "seen")).toBe("n1\n");
    const again = await buildText(dockerfile, { BUILDKIT_CACHE_MOUNT_NS: "team-a", WHAT: "a2" });
    expect(read(again.out, "seen")).toBe("a1\na2\n");
    // an empty namespace is none (BuildKit's "/" + id)
    const empty = await buildText(dockerfile, { BUILDKIT_CACHE_MOUNT_NS: "", WHAT: "n2" });
    expect(read(empty.out, "seen")).toBe("n1\nn2\n");
  });
  it("is in the key of a RUN with a cache mount, and of no other RUN", async () => {
    const text = "FROM base:1\nRUN --mount=type=cache,target=/c,id=ns-key echo x > /x\nRUN echo y > /y\n";
    const a = await buildText(text, { BUILDKIT_CACHE_MOUNT_NS: "k1" });
    const b = await buildText(text, { BUILDKIT_CACHE_MOUNT_NS: "k2" });
    const [a1, a2] = runSteps(a.r);
    const [b1, b2] = runSteps(b.r);
    expect(b1?.cached).toBe(false);
    expect(b1?.cacheKey).not.toBe(a1?.cacheKey);
    // the next RUN has no cache mount, but its parent is another step
    expect(b2?.cacheKey).not.toBe(a2?.cacheKey);
    const c = await buildText(text, { BUILDKIT_CACHE_MOUNT_NS: "k1" });
    expect(runSteps(c.r).map((s) => s.cached)).toEqual([true, true]);
    // without a cache mount, the namespace changes nothing
    const plain = "FROM base:1\nRUN echo z > /z\n";
    const p1 = await buildText(plain);
    const p2 = await buildText(plain, { BUILDKIT_CACHE_MOUNT_NS: "k3" });
    expect(runSteps(p2.r)[0]).toMatchObject({ cached: true, cacheKey: runSteps(p1.r)[0]?.cacheKey });
  });
  it("applies to a cache mount with from=, and to locked and private ones, across stages", async () => {
    const text = [
      "FROM base:1 AS seed",
      "RUN mkdir /s && echo seeded > /s/file",
      "FROM base:1 AS one",
      "ARG WHAT",
      "RUN --mount=type=cache,target=/c,id=ns-from,from=seed,source=/s (ls /c; echo \"$WHAT\") > /seen && echo \"$WHAT\" > /c/$WHAT",
      "RUN --mount=type=cache,target=/l,id=ns-locked,sharing=locked (ls /l; echo \"$WHAT\") > /locked && touch /l/$WHAT",
      "FROM base:1",
      "ARG WHAT",
      "COPY --from=one /seen /locked /",
      "RUN --mount=type=cache,target=/c,id=ns-from,from=seed,source=/s ls /c > /two",
      "RUN --mount=type=cache,target=/l,id=ns-locked,sharing=private ls /l > /private",
    ].join("\n") + "\n";
    const a = await buildText(text, { BUILDKIT_CACHE_MOUNT_NS: "from-a", WHAT: "a" });
    expect(read(a.out, "seen")).toBe("file\na\n");
    expect(read(a.out, "two")).toBe("a\nfile\n");
    expect(read(a.out, "locked")).toBe("a\n");
    expect(read(a.out, "private")).toBe("a\n");
    const b = await buildText(text, { BUILDKIT_CACHE_MOUNT_NS: "from-b", WHAT: "b" });
    expect(read(b.out, "seen")).toBe("file\nb\n");
    expect(read(b.out, "two")).toBe("b\nfile\n");
    expect(read(b.out, "locked")).toBe("b\n");
    expect(read(b.out, "private")).toBe("b\n");
    const c = await buildText(text, { BUILDKIT_CACHE_MOUNT_NS: "from-a", WHAT: "c" });
    expect(read(c.out, "seen")).toBe("a\nfile\nc\n");
    expect(read(c.out, "locked")).toBe("a\nc\n");
  });
});

describe("BUILDKIT_SANDBOX_HOSTNAME", () => {
  const text = [
    "FROM base:1 AS first",
    "RUN (hostname; cat /etc/hosts; env | grep ^HOSTNAME= || echo no-env) > /first",
    "FROM first",
    "RUN hostname > /second",
  ].join("\n") + "\n";
  it("is every RUN's hostname, in every stage, and in /etc/hosts; never in the env (as BuildKit)", async () => {
    const { out } = await buildText(text, { BUILDKIT_SANDBOX_HOSTNAME: "box.example" });
    expect(read(out, "first")).toBe("box.example\n127.0.0.1\tlocalhost box.example\n::1\tlocalhost ip6-localhost ip6-loopback\nno-env\n");
    expect(read(out, "second")).toBe("box.example\n");
    const plain = await buildText(text);
    expect(read(plain.out, "first")).toBe("buildkitsandbox\n127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\nno-env\n");
  });
  it("is in every RUN's key when given (even the default name, as BuildKit's ExecOp meta); empty is not given", async () => {
    const keys = async (args: Record<string, string>) => runSteps((await buildText(text, args)).r).map((s) => s.cacheKey);
    const none = await keys({});
    const empty = await keys({ BUILDKIT_SANDBOX_HOSTNAME: "" });
    const box = await keys({ BUILDKIT_SANDBOX_HOSTNAME: "box.example" });
    const other = await keys({ BUILDKIT_SANDBOX_HOSTNAME: "other" });
    const dflt = await keys({ BUILDKIT_SANDBOX_HOSTNAME: "buildkitsandbox" });
    expect(empty).toEqual(none);
    for (const k of [box, other, dflt]) for (let i = 0; i < none.length; i++) expect(k[i]).not.toBe(none[i]);
    expect(new Set([...box, ...other, ...dflt]).size).toBe(6);
  });
  it("a hostname runc refuses (over 64 bytes) fails the first RUN, as in BuildKit", async () => {
    const long = "a".repeat(65);
    const ok = await buildText("FROM base:1\nCOPY Dockerfile.0 /\n", { BUILDKIT_SANDBOX_HOSTNAME: long });
    expect(ok.r.steps.length).toBeGreaterThan(0);
    const e = await buildText("FROM base:1\nRUN true\n", { BUILDKIT_SANDBOX_HOSTNAME: long }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect(String((e as Error).message)).toMatch(/sethostname|hostname/);
  });
});
