/**
 * `tsbuild import -c` applies its changes through the engine's rules (applyConfigChanges), as
 * `docker import -c` does; `-m` is the history comment; anything not a config change is refused
 * with the usage exit code and nothing is imported.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers/run-cli.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-import-c-"));
const root = join(work, "store");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const rootfs = join(work, "rootfs");
mkdirSync(join(rootfs, "etc"), { recursive: true });
writeFileSync(join(rootfs, "etc", "hello"), "hi\n");
const tarball = execFileSync("tar", ["--owner=0", "--group=0", "-cf", "-", "-C", rootfs, "."]);
writeFileSync(join(work, "rootfs.tar"), tarball);

const run = (argv: string[]) => runCli(argv, { stdin: tarball, env: { TSBUILD_ROOT: root }, cwd: work });

async function imported(name: string, ...flags: string[]) {
  const r = await run(["import", "-", name, ...flags]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  const [info] = JSON.parse((await run(["inspect", name])).out);
  return info.Config as { config: Record<string, unknown>; history: { comment?: string; created_by?: string }[] };
}

describe("tsbuild import -c", () => {
  it("applies every kind of change the build applies, in order, each by the build's rule", async () => {
    const config = await imported("all:1",
      "-c", "ENV A=1 PATH=/bin",
      "-c", "LABEL org.example.a=$A",
      "-c", "EXPOSE 80 53/udp",
      "-c", "VOLUME /data",
      "-c", "USER 1000:1000",
      "-c", "WORKDIR app",
      "-c", "STOPSIGNAL SIGTERM",
      "-c", "ONBUILD RUN echo child",
      "-c", "HEALTHCHECK --interval=10s --retries=2 CMD true",
      "-c", 'CMD ["sh"]',
      "-c", "ENTRYPOINT /entry $A",
    );
    expect(config.config).toEqual({
      Env: ["A=1", "PATH=/bin"],
      Labels: { "org.example.a": "1" },
      ExposedPorts: { "80/tcp": {}, "53/udp": {} },
      Volumes: { "/data": {} },
      User: "1000:1000",
      WorkingDir: "/app",
      StopSignal: "SIGTERM",
      OnBuild: ["RUN echo child"],
      Healthcheck: { Test: ["CMD-SHELL", "true"], Interval: 10e9, Retries: 2 },
      Cmd: ["sh"],
      Entrypoint: ["/bin/sh", "-c", "/entry $A"],
    });
    // one history entry, as docker import writes (the changes add none)
    expect(config.history).toEqual([{ created: expect.any(String), comment: "Imported from -" }]);
  });
  it("EXPOSE 8080/TCP is 8080/tcp (the protocol lowercased, as a build's EXPOSE)", async () => {
    expect((await imported("tcp:1", "-c", "EXPOSE 8080/TCP 5353/UDP")).config).toEqual({ ExposedPorts: { "8080/tcp": {}, "5353/udp": {} } });
  });
  it("-m is the history comment; a file is imported from - as docker's CLI sends it", async () => {
    expect((await imported("msg:1", "-m", "made by hand")).history).toEqual([{ created: expect.any(String), comment: "made by hand" }]);
    const r = await runCli(["import", "rootfs.tar", "file:1"], { env: { TSBUILD_ROOT: root }, cwd: work });
    expect(r.code).toBe(0);
    const [info] = JSON.parse((await run(["inspect", "file:1"])).out);
    expect(info.Config.history[0].comment).toBe("Imported from -");
  });
  it("RUN is refused clearly, with the usage exit code, and nothing is imported", async () => {
    const r = await run(["import", "-", "refused:1", "-c", "ENV A=1", "-c", "RUN echo hi"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'tsbuild import: bad -c change "RUN echo hi": RUN cannot be applied to an image config ' +
      "(use CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR)\n" +
      "usage: tsbuild import [--root DIR] FILE|- NAME [-c 'INSTRUCTION']... [-m MESSAGE]\n");
    expect((await run(["inspect", "refused:1"])).code).toBe(1);
  });
  it("a bad change names itself and what is wrong", async () => {
    const r = await run(["import", "-", "bad:1", "-c", "CMD ok", "-c", "LABEL"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^tsbuild import: bad -c change "LABEL": LABEL requires at least one argument\n/);
  });
});
