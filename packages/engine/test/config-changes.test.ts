/**
 * applyConfigChanges: `-c` instructions applied to an image config through the build handlers' own
 * rules (as `docker import -c` applies them, moby's BuildFromConfig), and refused for anything
 * that is not a config change.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "@tsbuild/oci";
import { applyConfigChanges, build, ConfigChangeError, CONFIG_CHANGE_INSTRUCTIONS } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-config-changes-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const apply = (...changes: string[]) => applyConfigChanges({}, changes);
const refusal = (...changes: string[]): ConfigChangeError => {
  try {
    apply(...changes);
  } catch (e) {
    if (e instanceof ConfigChangeError) return e;
    throw e;
  }
  throw new Error(`${changes.join(" | ")} was applied`);
};

describe("each instruction -c takes", () => {
  it("lists exactly moby's validCommitCommands", () => {
    expect([...CONFIG_CHANGE_INSTRUCTIONS].sort()).toEqual(
      ["cmd", "entrypoint", "env", "expose", "healthcheck", "label", "onbuild", "stopsignal", "user", "volume", "workdir"]);
  });
  it("CMD: exec form as written, shell form through /bin/sh -c, no ArgsEscaped (docker import sets none), empty CMD clears", () => {
    expect(apply('CMD ["sh", "-l"]')).toEqual({ Cmd: ["sh", "-l"] });
    expect(apply("CMD echo hi there")).toEqual({ Cmd: ["/bin/sh", "-c", "echo hi there"] });
    expect(applyConfigChanges({ Cmd: ["old"] }, ["CMD"])).toEqual({ Cmd: null });
  });
  it("ENTRYPOINT: sets the entrypoint; clears an inherited CMD, keeps one an earlier -c set, leaves an absent one absent", () => {
    expect(apply('ENTRYPOINT ["/init"]')).toEqual({ Entrypoint: ["/init"] });
    expect(apply("ENTRYPOINT exec app")).toEqual({ Entrypoint: ["/bin/sh", "-c", "exec app"] });
    expect(applyConfigChanges({ Cmd: ["inherited"] }, ['ENTRYPOINT ["/init"]'])).toEqual({ Cmd: null, Entrypoint: ["/init"] });
    expect(apply('CMD ["arg"]', 'ENTRYPOINT ["/init"]')).toEqual({ Cmd: ["arg"], Entrypoint: ["/init"] });
  });
  it("ENV: pairs in order, an existing key replaced in place, later changes see earlier values", () => {
    expect(applyConfigChanges({ Env: ["PATH=/bin", "A=0"] }, ["ENV A=1 B=2", "ENV C=$A-${B}", "ENV PATH=/sbin:$PATH"]))
      .toEqual({ Env: ["PATH=/sbin:/bin", "A=1", "B=2", "C=1-2"] });
    expect(apply("ENV legacy form with spaces")).toEqual({ Env: ["legacy=form with spaces"] });
  });
  it("EXPOSE: tcp by default, the protocol lowercased (53/UDP is 53/udp), words split from a variable", () => {
    expect(apply("EXPOSE 80 53/UDP 443/TCP 9000/tcp")).toEqual({ ExposedPorts: { "80/tcp": {}, "53/udp": {}, "443/tcp": {}, "9000/tcp": {} } });
    expect(apply("ENV PORTS='8080 8443/Udp'", "EXPOSE $PORTS")).toEqual({ Env: ["PORTS=8080 8443/Udp"], ExposedPorts: { "8080/tcp": {}, "8443/udp": {} } });
  });
  it("LABEL: keys set, a later value wins, merged with existing labels", () => {
    expect(applyConfigChanges({ Labels: { keep: "1", a: "old" } }, ['LABEL a=new "b c"="d e"'])).toEqual({ Labels: { keep: "1", a: "new", "b c": "d e" } });
  });
  it("ONBUILD: the trigger text appended", () => {
    expect(apply("ONBUILD RUN make", "ONBUILD COPY . /src")).toEqual({ OnBuild: ["RUN make", "COPY . /src"] });
  });
  it("STOPSIGNAL, USER: as written, after expansion", () => {
    expect(apply("STOPSIGNAL SIGQUIT", "USER 1000:1000")).toEqual({ StopSignal: "SIGQUIT", User: "1000:1000" });
    expect(applyConfigChanges({ Env: ["U=app"] }, ["USER $U"])).toEqual({ Env: ["U=app"], User: "app" });
  });
  it("VOLUME: plain and JSON forms, trimmed; an empty one is refused", () => {
    expect(apply("VOLUME /data /logs", 'VOLUME ["/cache"]')).toEqual({ Volumes: { "/data": {}, "/logs": {}, "/cache": {} } });
    expect(refusal('VOLUME [""]').detail).toBe("VOLUME specified can not be an empty string");
  });
  it("WORKDIR: resolved against the previous one (relative paths from /), nothing else (no directory is made)", () => {
    expect(apply("WORKDIR /app")).toEqual({ WorkingDir: "/app" });
    expect(apply("WORKDIR app", "WORKDIR ../srv/x")).toEqual({ WorkingDir: "/srv/x" });
    expect(applyConfigChanges({ Env: ["HOME=/home/u"] }, ["WORKDIR $HOME/w"])).toEqual({ Env: ["HOME=/home/u"], WorkingDir: "/home/u/w" });
  });
  it("HEALTHCHECK: CMD, CMD-SHELL and NONE, durations in nanoseconds; a bad duration is refused", () => {
    expect(apply('HEALTHCHECK --interval=30s --timeout=1m30s --start-period=2s --start-interval=500ms --retries=3 CMD ["curl", "-f", "http://x/"]')).toEqual({
      Healthcheck: { Test: ["CMD", "curl", "-f", "http://x/"], Interval: 30e9, Timeout: 90e9, StartPeriod: 2e9, StartInterval: 5e8, Retries: 3 },
    });
    expect(apply("HEALTHCHECK CMD wget -q -O- x || exit 1")).toEqual({ Healthcheck: { Test: ["CMD-SHELL", "wget -q -O- x || exit 1"] } });
    expect(apply("HEALTHCHECK NONE")).toEqual({ Healthcheck: { Test: ["NONE"] } });
    const e = refusal("HEALTHCHECK --interval=soon CMD true");
    expect(e.message).toBe('bad -c change "HEALTHCHECK --interval=soon CMD true": HEALTHCHECK --interval: invalid duration soon (write e.g. 30s or 1m30s)');
  });
});

describe("how the changes are read", () => {
  it("are joined by newlines, as moby joins them: one change may hold several lines, a continuation runs into the next", () => {
    expect(apply("ENV A=1\nCMD x")).toEqual({ Env: ["A=1"], Cmd: ["/bin/sh", "-c", "x"] });
    expect(apply("ENV A=1 \\", "B=2")).toEqual({ Env: ["A=1", "B=2"] });
    expect(apply("# escape=`", "ENV A=1 `", " B=2")).toEqual({ Env: ["A=1", "B=2"] });
  });
  it("no changes: the config as it is; the given config is never modified", () => {
    const given = { Env: ["A=1"], Labels: { a: "b" } };
    expect(applyConfigChanges(given, [])).toEqual(given);
    const out = applyConfigChanges(given, ["ENV A=2", "LABEL a=c"]);
    expect(out).toEqual({ Env: ["A=2"], Labels: { a: "c" } });
    expect(given).toEqual({ Env: ["A=1"], Labels: { a: "b" } });
  });
});

describe("what -c refuses", () => {
  const allowed = "use CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR";
  it("RUN (and every other instruction that is no config change), named with the change and what to use", () => {
    const e = refusal("RUN echo hi");
    expect(e.message).toBe(`bad -c change "RUN echo hi": RUN cannot be applied to an image config (${allowed})`);
    expect(e).toMatchObject({ change: "RUN echo hi", index: 0, hint: allowed });
    for (const c of ["run", "COPY a /b", "ADD a /b", "FROM busybox", "ARG X=1", "SHELL [\"/bin/bash\", \"-c\"]", "MAINTAINER me"]) {
      expect(refusal(c).detail).toMatch(/^[A-Z]+ cannot be applied to an image config$/);
    }
  });
  it("checks every change before applying any, and names the one at fault", () => {
    const e = refusal("CMD ok", "ENV A=1\nCOPY . /", "USER x");
    expect(e).toMatchObject({ change: "ENV A=1\nCOPY . /", index: 1 });
  });
  it("a typo gets the parser's suggestion; a parse error or a bad expansion names its change", () => {
    expect(refusal("CDM sh").message).toBe('bad -c change "CDM sh": unknown instruction: CDM (did you mean CMD?)');
    expect(refusal("CMD ok", "USER").message).toBe('bad -c change "USER": USER requires exactly one argument');
    expect(refusal("ENV A=${B:?required}").detail).toMatch(/B: required/);
    expect(refusal("ONBUILD ONBUILD RUN x").detail).toBe("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  });
  it("a change with no instruction in it", () => {
    expect(refusal("  ").message).toBe(`bad -c change "  ": no instruction in it (give a Dockerfile instruction, e.g. -c 'CMD ["sh"]')`);
    expect(refusal("# a comment").detail).toBe("no instruction in it");
  });
});

describe("the same rules as a build", () => {
  it("a FROM scratch build of the same instructions gives the same config (but for the build's ArgsEscaped)", async () => {
    const changes = [
      "ENV A=1 B=two", "LABEL l=$A", "EXPOSE 80 53/UDP", "VOLUME /v", "USER 1000:1000", "WORKDIR sub/",
      "STOPSIGNAL SIGINT", "ONBUILD RUN true", "HEALTHCHECK --interval=5s CMD true", "CMD run $A", 'ENTRYPOINT ["/e"]',
    ];
    const root = join(work, "store");
    const r = await build({ context: work, dockerfileText: ["FROM scratch", ...changes].join("\n"), root, platform: { os: "linux", architecture: "amd64" } });
    const store = await Store.open(root);
    const built = JSON.parse((await store.content.readBytes(r.imageId)).toString()).config;
    // a scratch stage starts with PATH and WorkingDir "/", as BuildKit's
    const applied = applyConfigChanges({ Env: [built.Env[0]], WorkingDir: "/" }, changes);
    expect(built.ArgsEscaped).toBe(true);
    delete built.ArgsEscaped;
    expect(applied).toEqual(built);
  }, 60_000);
});
