/**
 * RUN --mount as a typed value (mount-spec.ts), against BuildKit 1.7's parseMount and the defaults
 * of its dispatch; and where its errors surface: CSV at parse time, the rest when the RUN is
 * expanded, both DockerfileErrors at the instruction.
 */
import { describe, expect, it } from "vitest";
import {
  canonicalMountSpec, DockerfileError, expandInstruction, loadDockerfile, mapLookup, MountSpecError, parseMountSpec, parseRamBytes,
  type ExpandedRunInstruction, type MountSpec, type RunInstruction,
} from "../src/index.js";

import { thrown } from "./helpers/thrown.js";

const refused = (spec: string): MountSpecError => thrown(MountSpecError, () => parseMountSpec(spec));

describe("each mount type, with BuildKit's defaults", () => {
  it("bind: read-only unless rw, context unless from, source its root", () => {
    expect(parseMountSpec("target=/m")).toEqual({ type: "bind", target: "/m", source: "", readwrite: false });
    expect(parseMountSpec("type=bind,src=s,dst=/m,from=build,rw")).toEqual({ type: "bind", target: "/m", source: "s", from: "build", readwrite: true });
    expect(parseMountSpec("type=bind,source=s,destination=/m,readwrite=false")).toMatchObject({ readwrite: false });
    expect(parseMountSpec("type=bind,target=/m,ro=false")).toMatchObject({ readwrite: true });
    expect(parseMountSpec("type=bind,target=/m,rw,ro")).toMatchObject({ readwrite: false }); // the last one wins
    expect(parseMountSpec("type=bind,target=/m,id=ignored")).toEqual({ type: "bind", target: "/m", source: "", readwrite: false }); // as BuildKit
  });
  it("cache: id defaults to the cleaned target, shared, writable; mode octal, uid/gid decimal", () => {
    expect(parseMountSpec("type=cache,target=/root/.cache/")).toEqual({ type: "cache", target: "/root/.cache/", id: "/root/.cache", readonly: false, sharing: "shared" });
    expect(parseMountSpec("type=cache,target=/c,id=go,sharing=LOCKED,mode=0750,uid=1000,gid=0,ro")).toEqual({
      type: "cache", target: "/c", id: "go", readonly: true, sharing: "locked", mode: 0o750, uid: 1000, gid: 0,
    });
    expect(parseMountSpec("type=cache,target=/c,from=base,source=/seed")).toMatchObject({ from: "base", source: "/seed" });
    expect(parseMountSpec("type=cache,target=a//b/../c")).toMatchObject({ id: "a/c" });
  });
  it("tmpfs: a size in go-units RAMInBytes", () => {
    expect(parseMountSpec("type=tmpfs,target=/t")).toEqual({ type: "tmpfs", target: "/t", readonly: false });
    expect(parseMountSpec("type=tmpfs,target=/t,size=64m")).toMatchObject({ size: 64 * 2 ** 20 });
    expect([parseRamBytes("100"), parseRamBytes("1k"), parseRamBytes("1KiB"), parseRamBytes("1.5 MB"), parseRamBytes("2b"), parseRamBytes("1e3")])
      .toEqual([100, 1024, 1024, 1.5 * 2 ** 20, 2, 1000]);
    for (const bad of ["", "m", "1x", "1kbb", "1kib2", "-1", "1.2.3", "1  k"]) expect(() => parseRamBytes(bad)).toThrow(MountSpecError);
  });
  it("secret: id from source, id or the target's base name; target /run/secrets/ID", () => {
    expect(parseMountSpec("type=secret,id=tok")).toEqual({ type: "secret", id: "tok", target: "/run/secrets/tok", required: false });
    expect(parseMountSpec("type=secret,target=/etc/app/key,required")).toEqual({ type: "secret", id: "key", target: "/etc/app/key", required: true });
    expect(parseMountSpec("type=secret,src=aws,mode=0440,uid=1,gid=2,required=false")).toEqual({ type: "secret", id: "aws", target: "/run/secrets/aws", required: false, mode: 0o440, uid: 1, gid: 2 });
    expect(parseMountSpec("type=secret,id=a/b")).toMatchObject({ target: "/run/secrets/b" });
  });
  it("secret env= (BuildKit's dockerfile 1.10): the variable, and a file only with a target; dropped from other types", () => {
    expect(parseMountSpec("type=secret,id=tok,env=TOKEN")).toEqual({ type: "secret", id: "tok", env: "TOKEN", required: false });
    expect(parseMountSpec("type=secret,id=tok,env=TOKEN,target=/t")).toEqual({ type: "secret", id: "tok", env: "TOKEN", target: "/t", required: false });
    expect(parseMountSpec("type=secret,target=/etc/key,env=K")).toMatchObject({ id: "key", env: "K", target: "/etc/key" });
    expect(parseMountSpec("type=cache,target=/c,env=X")).toEqual({ type: "cache", target: "/c", id: "/c", readonly: false, sharing: "shared" }); // as BuildKit
  });
  it("ssh: id default, target optional", () => {
    expect(parseMountSpec("type=ssh")).toEqual({ type: "ssh", id: "default", required: false });
    expect(parseMountSpec("type=ssh,id=gh,target=/s,required=true,mode=0600")).toEqual({ type: "ssh", id: "gh", target: "/s", required: true, mode: 0o600 });
  });
  it("keys and the type and sharing values are case-insensitive; other values are not", () => {
    expect(parseMountSpec("TYPE=Cache,Target=/C,ID=X")).toEqual({ type: "cache", target: "/C", id: "X", readonly: false, sharing: "shared" });
  });
  it("booleans are Go's ParseBool", () => {
    for (const t of ["1", "t", "T", "TRUE", "true", "True"]) expect(parseMountSpec(`type=bind,target=/m,rw=${t}`)).toMatchObject({ readwrite: true });
    for (const f of ["0", "f", "F", "FALSE", "false", "False"]) expect(parseMountSpec(`type=bind,target=/m,rw=${f}`)).toMatchObject({ readwrite: false });
    expect(refused("type=bind,target=/m,rw=yes").message).toBe("invalid value for rw: yes");
  });
});

describe("what BuildKit refuses is refused, never ignored", () => {
  it.each([
    ["type=volume,target=/v", 'unsupported mount type "volume"'],
    ["type=cahce,target=/v", 'unsupported mount type "cahce"'],
    ["type=cache,target=/c,sharing=open", 'unsupported sharing value "open"'],
    ["type=cache,target=/c,colour=red", "unexpected key 'colour' in 'colour=red'"],
    ["type=secret,id=a,env=", "env= needs the name of an environment variable"],
    ["type=secret,id=a,evn=A", "unexpected key 'evn' in 'evn=A'"],
    ["type=cache,target=/c,nocheck", "invalid field 'nocheck' must be a key=value pair"],
    ["type=bind,target=/m,required", "unexpected key 'required' for mount type 'bind'"],
    ["required,type=secret,id=a", "unexpected key 'required' for mount type 'bind'"], // read in order, as BuildKit
    ["type=cache,target=/c,size=1m", "unexpected key 'size' for mount type 'cache'"],
    ["type=bind,target=/m,mode=0755", 'mode not allowed for "bind" type mounts'],
    ["type=tmpfs,target=/t,uid=1", 'uid not allowed for "tmpfs" type mounts'],
    ["type=cache,target=/c,mode=999", "invalid value 999 for mode"],
    ["type=cache,target=/c,uid=-1", "invalid value -1 for uid"],
    ["type=cache,target=/c,gid=4294967296", "invalid value 4294967296 for gid"],
    ["type=cache,target=/c,uid=", "invalid value  for uid"],
    ["type=secret,id=a,from=x", "secret mount should not have a from"],
    ["type=secret,id=a,sharing=locked", "secret mount should not define sharing"],
    ["type=secret", "invalid secret mount. one of source, target required"],
    ["type=secret,id=a,source=b", "both source and id can't be set"],
    ["type=tmpfs,target=/t,sharing=shared", "invalid cache sharing set for tmpfs mount"],
    ["type=ssh,source=x", "ssh does not support source"],
    ["type=cache", "a cache mount needs target=PATH"],
    ["type=bind,target=", "a bind mount needs target=PATH"],
    [" target=/m", "unexpected key ' target' in ' target=/m'"], // spaces are kept, as encoding/csv
  ])("%s", (spec, message) => expect(refused(spec).message).toBe(message));
  it("suggests the closest key or type", () => {
    expect(refused("type=cahce,target=/v").hint).toBe("did you mean cache?");
    expect(refused("type=cache,traget=/v").hint).toBe("did you mean target?");
    expect(refused("type=cache,target=/c,colour=red").hint).toBeUndefined();
  });
});

describe("canonicalMountSpec: one spelling per mount", () => {
  const same = [
    ["type=cache,target=/c,id=x,sharing=locked,uid=1", "uid=1,sharing=locked,id=x,target=/c,type=cache", "TYPE=cache,dst=/c,ID=x,sharing=LOCKED,uid=01"],
    ["type=bind,source=s,target=/m,rw", "rw=true,target=/m,src=s", "type=bind,readonly=false,destination=/m,source=s"],
    ["type=cache,target=/c", "type=cache,target=/c,id=/c,sharing=shared,ro=false"],
    ["type=secret,id=tok", "type=secret,target=/run/secrets/tok,src=tok"],
    ["type=secret,id=tok,env=T", "env=T,src=tok,type=secret"],
  ];
  it.each(same)("%s", (...specs) => {
    const keys = specs.map((s) => canonicalMountSpec(parseMountSpec(s)));
    expect(new Set(keys).size).toBe(1);
  });
  it("differs when the mount differs, and reads back to the same value", () => {
    expect(canonicalMountSpec(parseMountSpec("type=cache,target=/c"))).not.toBe(canonicalMountSpec(parseMountSpec("type=cache,target=/c,sharing=private")));
    expect(canonicalMountSpec(parseMountSpec("type=secret,id=t,env=A"))).not.toBe(canonicalMountSpec(parseMountSpec("type=secret,id=t,env=B")));
    expect(canonicalMountSpec(parseMountSpec("type=secret,id=t,env=A"))).not.toBe(canonicalMountSpec(parseMountSpec("type=secret,id=t,env=A,target=/run/secrets/t")));
    const specs = ["type=cache,target=/c,id=x,ro,mode=0750,gid=3", 'type=bind,"source=a,b",target=/m,from=st', "type=tmpfs,target=/t,size=1k,ro", "type=secret,target=/s,required,uid=5", "type=secret,id=x,env=V", "type=ssh,id=x,target=/s"];
    for (const s of specs) {
      const m: MountSpec = parseMountSpec(s);
      expect(parseMountSpec(canonicalMountSpec(m))).toEqual(m);
    }
    expect(canonicalMountSpec(parseMountSpec('type=bind,"source=a,b",target=/m'))).toBe('type=bind,target=/m,"source=a,b",readwrite=false');
  });
});

describe("in a Dockerfile: DockerfileErrors at the RUN", () => {
  const amd64 = { os: "linux", architecture: "amd64" };
  const load = (text: string) => loadDockerfile(text, "Dockerfile", { platform: amd64, buildPlatform: amd64 });
  const lastRun = (text: string) => load(text).stages.at(-1)!.instructions.at(-1) as RunInstruction;
  const expand = (i: RunInstruction, vars: Record<string, string> = {}) =>
    expandInstruction(i, { lookup: mapLookup(vars), escapeToken: "\\", file: "Dockerfile" }) as ExpandedRunInstruction;
  const error = (f: () => unknown): DockerfileError => thrown(DockerfileError, f);
  it("bad CSV fails the parse, in any stage", () => {
    const e = error(() => load('FROM a AS unused\n  RUN --mount=type=bind,target=\\"/m true\nFROM b\n'));
    expect(e.code).toBe("bad-mount");
    expect(e.position).toMatchObject({ line: 2, column: 3 });
    expect(e.message).toContain('Dockerfile:2:3: --mount=type=bind,target="/m: failed to parse csv mounts: parse error on line 1, column 18: bare " in non-quoted-field');
  });
  it("the rest is checked when the RUN is expanded (variables may hold values), as BuildKit's dispatch", () => {
    const run = lastRun("FROM a\nRUN --mount=type=cache,target=/c,uid=$U true\n");
    expect(run.mountFlags).toEqual([{ text: "type=cache,target=/c,uid=$U", fields: [
      { key: "type", value: "cache", text: "type=cache" }, { key: "target", value: "/c", text: "target=/c" }, { key: "uid", value: "$U", text: "uid=$U" },
    ] }]);
    expect(expand(run, { U: "1000" }).mounts).toEqual([{ type: "cache", target: "/c", id: "/c", readonly: false, sharing: "shared", uid: 1000 }]);
    const e = error(() => expand(run, { U: "root" }));
    expect(e.code).toBe("bad-mount");
    expect(e.position).toMatchObject({ line: 2, column: 1 });
    expect(e.message).toBe("Dockerfile:2:1: --mount=type=cache,target=/c,uid=$U: invalid value root for uid (write uid= as a number)");
  });
  it("each value is expanded on its own: a variable holding a comma stays in its field; keys are not expanded", () => {
    expect(expand(lastRun("FROM a\nRUN --mount=type=bind,source=$S,target=/m true\n"), { S: "a,b" }).mounts[0]).toMatchObject({ source: "a,b" });
    expect(error(() => expand(lastRun("FROM a\nRUN --mount=type=cache,target=/c,$K=x true\n"), { K: "id" })).message).toContain("unexpected key '$k' in '$K=x'");
  });
  it("stage references come from the last from= of each mount", () => {
    const g = load("FROM a AS one\nFROM a AS two\nFROM b\nRUN --mount=from=one,from=two,target=/m true\n");
    expect(g.stages.at(-1)!.dependsOn).toEqual([1]);
  });
});
