import { describe, expect, it } from "vitest";
import { readFileSync, readlinkSync } from "node:fs";
import { OwnerCheck, ownerStamp, parseStamp, pidAlive } from "../src/index.js";

// Owner stamps in store names (owner-stamp.ts): live, dead (gone, or its pid reused), other namespace, unowned.
const start = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[19]!;
const ns = /\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"))![1]!;
let dead = 4_000_000;
while (pidAlive(dead)) dead++;

describe("owner stamps", () => {
  it("this process's stamp is PID.START.NS and parses back", () => {
    expect(ownerStamp()).toBe(`${process.pid}.${start}.${ns}`);
    expect(parseStamp(`build-${ownerStamp()}-AbC123`)).toEqual({ pid: process.pid, start, ns });
    expect(parseStamp(`${ownerStamp()}-0123456789ab`)).toEqual({ pid: process.pid, start, ns });
    expect(parseStamp(`layer-${process.pid}-0123abcd`)).toEqual({ pid: process.pid });
    expect(parseStamp("0123456789ab")).toBeUndefined();
    expect(parseStamp("tsbuild-3fa2b1c4d5e6")).toBeUndefined();
  });

  it("tells live, dead, reused-pid, other-namespace and unowned names apart", () => {
    const o = new OwnerCheck();
    expect(o.state(`build-${ownerStamp()}-AbC123`)).toBe("live");
    expect(o.state(`build-${dead}.${start}.${ns}-AbC123`)).toBe("dead");
    expect(o.state(`build-${process.pid}.1.${ns}-AbC123`)).toBe("dead"); // our pid, an earlier process's start
    expect(o.state(`build-${dead}.${start}.1-AbC123`)).toBe("live"); // another pid namespace: never swept from here
    expect(o.state(`layer-${dead}-0123abcd`)).toBe("dead"); // pid-only names of older versions
    expect(o.state(`layer-${process.pid}-0123abcd`)).toBe("live");
    expect(o.state("0123456789ab")).toBe("unowned");
    expect(o.pathState(`snapshots/overlay/a/${dead}.${start}.${ns}-0123456789ab/merged`)).toBe("dead");
    expect(o.pathState(`tmp/build-${ownerStamp()}-x1y2z3/run/tsbuild-${ownerStamp()}-abc/secrets`)).toBe("live");
    expect(o.pathState("snapshots/overlay/c/0123456789ab/fs")).toBe("unowned");
  });
});
