/**
 * RUN --mount in the engine: the step's cache key is built from the typed mount (canonicalMountSpec),
 * so the same mount spelled another way hits; read-only caches and tmpfs, a tmpfs size, targets
 * relative to WORKDIR; a required ssh mount without its agent fails at its line.
 */
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BuildError, type BuildResult } from "../src/index.js";
import { DockerfileError } from "@tsbuild/dockerfile";
import { buildHarness } from "./helpers/build-harness.js";

const { buildText: buildWith } = buildHarness("tsbuild-mounts-");
const buildText = (text: string, secrets?: Map<string, Buffer>) => buildWith(text, secrets ? { secrets } : {});
const runStep = (r: BuildResult) => r.steps.find((s) => s.instruction.startsWith("RUN")) as BuildResult["steps"][number];

describe("a RUN's mount key comes from the parsed mount", () => {
  it("the same mounts with their options in another order (and other spellings) hit the same key", async () => {
    const a = await buildText("FROM base:1\nRUN --mount=type=cache,target=/c,id=order-test,sharing=locked,uid=0 --mount=type=tmpfs,target=/t echo one > /o\n");
    const b = await buildText("FROM base:1\nRUN --mount=uid=0,sharing=LOCKED,ID=order-test,dst=/c,type=cache --mount=target=/t,type=tmpfs,readonly=false echo one > /o\n");
    expect(runStep(a.r).cached).toBe(false);
    expect(runStep(b.r).cacheKey).toBe(runStep(a.r).cacheKey);
    expect(runStep(b.r).cached).toBe(true);
    // a real difference misses
    const c = await buildText("FROM base:1\nRUN --mount=type=cache,target=/c,id=order-test,sharing=private,uid=0 --mount=type=tmpfs,target=/t echo one > /o\n");
    expect(runStep(c.r).cacheKey).not.toBe(runStep(a.r).cacheKey);
  });
  it("a secret's default id and target need not be written to hit", async () => {
    const secrets = new Map([["tok", Buffer.from("s3cret")]]);
    const a = await buildText("FROM base:1\nRUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /len\n", secrets);
    const b = await buildText("FROM base:1\nRUN --mount=type=secret,target=/run/secrets/tok,required=false wc -c < /run/secrets/tok > /len\n", secrets);
    expect(readFileSync(join(a.out, "len"), "utf8").trim()).toBe("6");
    expect(runStep(b.r)).toMatchObject({ cached: true, cacheKey: runStep(a.r).cacheKey });
  });
});

describe("mount options the engine builds", () => {
  it("ro caches and tmpfs are read-only; a tmpfs has its size; relative targets are under WORKDIR", async () => {
    const { out } = await buildText([
      "FROM base:1",
      "WORKDIR /w",
      "RUN --mount=type=cache,target=/c,id=ro-test,ro (touch /c/x 2>/dev/null && echo rw || echo ro) > /cache.out",
      "RUN --mount=type=tmpfs,target=/t,ro (touch /t/x 2>/dev/null && echo rw || echo ro) > /tmpfs.out",
      "RUN --mount=type=tmpfs,target=/t,size=1m df -k /t | tail -1 | awk '{print $2}' > /size.out",
      "RUN --mount=type=tmpfs,target=rel grep -q ' /w/rel tmpfs ' /proc/mounts && echo yes > /rel.out",
    ].join("\n") + "\n");
    expect(readFileSync(join(out, "cache.out"), "utf8")).toBe("ro\n");
    expect(readFileSync(join(out, "tmpfs.out"), "utf8")).toBe("ro\n");
    expect(readFileSync(join(out, "size.out"), "utf8").trim()).toBe("1024");
    expect(readFileSync(join(out, "rel.out"), "utf8")).toBe("yes\n");
  });
  it("a required ssh mount without --ssh fails at its line (run-ssh.test.ts has the rest)", async () => {
    const e = await buildText("FROM base:1\nRUN --mount=type=ssh,required true\n").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BuildError);
    expect(e).toMatchObject({ position: { line: 2 }, message: expect.stringContaining("unset ssh forward key default") });
  });
  it("a mount BuildKit refuses is a DockerfileError at its line", async () => {
    const e = await buildText("FROM base:1\nRUN true\nRUN --mount=type=cache,target=/c,sharing=sometimes true\n").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DockerfileError);
    expect(e).toMatchObject({ code: "bad-mount", position: { line: 3 }, message: expect.stringContaining('unsupported sharing value "sometimes"') });
    const root = await buildText("FROM base:1\nWORKDIR /\nRUN --mount=type=tmpfs,target=. true\n").catch((x: unknown) => x);
    expect(root).toMatchObject({ position: { line: 3 }, message: 'invalid mount target "/"' });
  });
});
