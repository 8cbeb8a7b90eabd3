/**
 * RUN --mount=type=secret (files: mode, owner, target, default id; env=: BuildKit's dockerfile 1.10
 * option, expected from its docs and frontend tests), RUN --security (1.20: insecure only with the
 * security.insecure entitlement) and RUN --network=host (the network.host entitlement). A secret's
 * value reaches the RUN only: never the image, its history, the cache or the store.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { BuildError, type BuildResult } from "../src/index.js";
import { DockerfileError } from "@tsbuild/dockerfile";
import { buildHarness } from "./helpers/build-harness.js";

const { root, buildText } = buildHarness("tsbuild-secrets-security-", { oci: true });
const read = (out: string, f: string) => readFileSync(join(out, f), "utf8");
const runSteps = (r: BuildResult) => r.steps.filter((s) => s.instruction.startsWith("RUN"));

describe("RUN --mount=type=secret", () => {
  it("files: mode (& 0777), owner, a relative target under WORKDIR, the id defaulting to the target's base name; no stub left", async () => {
    const secrets = new Map([["tok", Buffer.from("pw")], ["cfg", Buffer.from("c")]]);
    const { out } = await buildText([
      "FROM base:1",
      "WORKDIR /w",
      "RUN --mount=type=secret,id=tok,mode=4741,uid=100,gid=102,target=/mysecret stat -c '%a %u %g' /mysecret > /st; cat /mysecret >> /st",
      "RUN --mount=type=secret,target=rel/cfg cat /w/rel/cfg > /cfg",
      "RUN --mount=type=secret,id=tok cat /run/secrets/tok > /default",
      "RUN --mount=type=secret,id=absent,target=/m ls /m 2>/dev/null || echo not-mounted > /absent",
      "RUN ls -A / /w > /ls",
    ].join("\n") + "\n", { secrets });
    expect(read(out, "st")).toBe("741 100 102\npw");
    expect(read(out, "cfg")).toBe("c");
    expect(read(out, "default")).toBe("pw");
    expect(read(out, "absent")).toBe("not-mounted\n");
    expect(read(out, "ls")).not.toMatch(/^(mysecret|run|m|rel)$/m);
  });
  it("a required secret that was not given fails at its line", async () => {
    const e = await buildText("FROM base:1\nRUN --mount=type=secret,id=mysecret,required true\n").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BuildError);
    expect(e).toMatchObject({ position: { line: 2 }, message: expect.stringContaining("secret mysecret: not found") });
  });
  it("env=: the value in the RUN's environment (over an ENV of the name), a file only with a target, empty when optional and absent", async () => {
    const token = `tok-${randomBytes(12).toString("hex")}`;
    const secrets = new Map([["mysecret", Buffer.from(token)]]);
    const text = [
      "FROM base:1",
      "ENV SECRET_ENV=foo",
      // (the RUNs write the value's hash: the value itself must not be in the Dockerfile either)
      "RUN --mount=type=secret,id=mysecret,env=SECRET_ENV printf %s \"$SECRET_ENV\" | sha256sum | cut -c1-64 > /env-only; ls /run >> /env-only 2>&1; true",
      "RUN --mount=type=secret,id=mysecret,target=/run/secrets/secret,env=SECRET_ENV printf %s \"$SECRET_ENV\" | sha256sum | cut -c1-64 > /both; cat /run/secrets/secret | sha256sum | cut -c1-64 >> /both",
      `RUN --mount=type=secret,id=other,env=OTHER echo "[$OTHER]" > /absent`,
      "RUN echo \"[$SECRET_ENV]\" > /after",
    ].join("\n") + "\n";
    const a = await buildText(text, { secrets });
    const sum = createHash("sha256").update(token).digest("hex");
    expect(read(a.out, "env-only")).toBe(`${sum}\nls: /run: No such file or directory\n`);
    expect(read(a.out, "both")).toBe(`${sum}\n${sum}\n`);
    expect(read(a.out, "absent")).toBe("[]\n");
    expect(read(a.out, "after")).toBe("[foo]\n");
    // not in the image (config, history, layers), the cache or anywhere in the store
    expect(spawnSync("grep", ["-rlaF", token, root, `${a.out}.tar`]).stdout.toString()).toBe("");
    expect(readdirSync(root).length).toBeGreaterThan(0);
    // the value is not in the key (a new value hits), the variable's name is
    const again = await buildText(text, { secrets: new Map([["mysecret", Buffer.from(`${token}-new`)]]) });
    expect(runSteps(again.r).map((s) => s.cached)).toEqual([true, true, true, true]);
    const renamed = await buildText(text.replace("env=OTHER echo \"[$OTHER]\"", "env=OTHER2 echo \"[$OTHER2]\""), { secrets });
    expect(runSteps(renamed.r).map((s) => s.cached)).toEqual([true, true, false, false]);
  });
  it("env= of a value holding a NUL byte is refused at its line, the value shown nowhere (runc's error would print it)", async () => {
    const token = `tok-${randomBytes(12).toString("hex")}`;
    let output = "";
    const e = await buildText("FROM base:1\nRUN echo before\nRUN --mount=type=secret,id=bin,env=BIN true\n", {
      secrets: new Map([["bin", Buffer.concat([Buffer.from("a"), Buffer.from([0]), Buffer.from(token)])]]),
      onEvent: (ev) => {
        output += `${JSON.stringify(ev)}\n`;
      },
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BuildError);
    expect(e).toMatchObject({ position: { line: 3 }, message: expect.stringMatching(/^secret bin: its value holds a NUL byte, which an environment variable cannot hold/) });
    expect(`${(e as Error).message}\n${JSON.stringify(e)}\n${output}`).not.toContain(token);
    expect(spawnSync("grep", ["-rlaF", token, root]).stdout.toString()).toBe("");
    // as a file it is fine
    const f = await buildText("FROM base:1\nRUN --mount=type=secret,id=bin,target=/s sha256sum /s | cut -c1-64 > /sum\n", {
      secrets: new Map([["bin", Buffer.concat([Buffer.from("a"), Buffer.from([0]), Buffer.from(token)])]]),
    });
    expect(read(f.out, "sum")).toBe(`${createHash("sha256").update(Buffer.concat([Buffer.from("a"), Buffer.from([0]), Buffer.from(token)])).digest("hex")}\n`);
  });
  it("env= with no name is refused at its line", async () => {
    const e = await buildText("FROM base:1\nRUN --mount=type=secret,id=x,env= true\n").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DockerfileError);
    expect(e).toMatchObject({ position: { line: 2 }, message: expect.stringContaining("env= needs the name") });
  });
});

describe("RUN --security and --network", () => {
  it("--security=insecure is refused without security.insecure, at its line, before anything runs", async () => {
    const text = "FROM base:1\nRUN echo first > /first\nRUN --security=insecure grep CapEff /proc/self/status > /caps\n";
    const events: string[] = [];
    const e = await buildText(text, { onEvent: (ev) => ev.type === "step-start" && events.push(ev.instruction) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BuildError);
    expect(e).toMatchObject({ position: { line: 3 }, message: expect.stringMatching(/^security\.insecure is not allowed: .*--allow security\.insecure/) });
    expect(events).toEqual([]);
  });
  it("with --allow security.insecure it runs privileged: every capability tsbuild has; sandbox is the default and keyed apart", async () => {
    const eff = /^CapEff:\s*(\w+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    const { r, out } = await buildText([
      "FROM base:1",
      "RUN --security=insecure grep CapEff /proc/self/status > /insecure",
      "RUN --security=sandbox grep CapEff /proc/self/status > /sandbox",
      "RUN grep CapEff /proc/self/status > /default",
    ].join("\n") + "\n", { allow: ["security.insecure"] });
    expect(read(out, "insecure")).toBe(`CapEff:\t${eff}\n`);
    expect(read(out, "sandbox")).toBe("CapEff:\t00000000a80425fb\n");
    expect(read(out, "default")).toBe("CapEff:\t00000000a80425fb\n");
    const keys = runSteps(r).map((s) => s.cacheKey);
    const plain = await buildText("FROM base:1\nRUN grep CapEff /proc/self/status > /insecure\n");
    expect(runSteps(plain.r)[0]?.cacheKey).not.toBe(keys[0]);
  });
  it("--network=host needs network.host: given by --allow, or by a build on the host network; others are refused at parse", async () => {
    const text = "FROM base:1\nRUN --network=host echo host > /h\nRUN --network=none cat /proc/net/route | wc -l > /none\nRUN --network=default echo d > /d\n";
    await expect(buildText(text)).rejects.toMatchObject({ position: { line: 2 }, message: expect.stringMatching(/^network\.host is not allowed: .*--allow network\.host \(or build with --network host\)/) });
    expect(read((await buildText(text, { allow: ["network.host"] })).out, "h")).toBe("host\n");
    const viaNetwork = await buildText(text, { network: "host" });
    expect(read(viaNetwork.out, "none")).toBe("1\n");
    const bad = await buildText("FROM base:1\nRUN true\nRUN --network=bridge true\n").catch((x: unknown) => x);
    expect(bad).toBeInstanceOf(DockerfileError);
    expect(bad).toMatchObject({ position: { line: 3 }, message: expect.stringContaining('invalid network mode "bridge"') });
    const sec = await buildText("FROM base:1\nRUN --security=privileged true\n").catch((x: unknown) => x);
    expect(sec).toMatchObject({ position: { line: 2 }, message: expect.stringContaining('security "privileged" is not valid') });
    await expect(buildText("FROM base:1\n", { allow: ["network.bogus" as "network.host"] })).rejects.toThrow("unknown entitlement network.bogus");
  });
});
