/**
 * The one platform matcher (containerd's platforms.Only and Normalize) and this host's platform.
 */
import { describe, expect, it } from "vitest";
import { formatPlatform, hostArchitecture, hostPlatform, normalizePlatform, onlyPlatform, type Platform } from "../src/index.js";

const p = (s: string): Platform => {
  const [os, architecture, variant] = s.split("/") as [string, string, string?];
  return { os, architecture, ...(variant ? { variant } : {}) };
};

describe("normalizePlatform", () => {
  it("spells each platform one way, as containerd's Normalize", () => {
    const cases: [string, string][] = [
      ["linux/arm64/v8", "linux/arm64"], ["linux/aarch64", "linux/arm64"], ["linux/arm64/9", "linux/arm64/9"], ["linux/arm", "linux/arm/v7"],
      ["linux/armhf", "linux/arm/v7"], ["linux/armel", "linux/arm/v6"], ["linux/arm/6", "linux/arm/v6"], ["linux/x86_64", "linux/amd64"],
      ["linux/amd64/v1", "linux/amd64"], ["linux/amd64/v3", "linux/amd64/v3"], ["linux/i386", "linux/386"], ["MacOS/AMD64", "darwin/amd64"],
    ];
    for (const [given, want] of cases) expect(formatPlatform(normalizePlatform(p(given))), given).toBe(want);
  });
});

describe("onlyPlatform", () => {
  it("takes the platform in any spelling and what it also runs, never another", () => {
    const takes: [string, string[], string[]][] = [
      ["linux/arm64", ["linux/arm64/v8", "linux/aarch64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5", "linux/arm"], ["linux/amd64", "linux/arm64/v8.2", "windows/arm64"]],
      ["linux/arm64/v8", ["linux/arm64"], []],
      ["linux/arm/v7", ["linux/arm", "linux/arm/v6", "linux/arm/v5", "linux/armhf"], ["linux/arm/v8", "linux/arm64"]],
      ["linux/arm/v6", ["linux/arm/v5", "linux/armel"], ["linux/arm/v7"]],
      ["linux/amd64", ["linux/amd64/v1", "linux/x86_64", "linux/386"], ["linux/amd64/v2", "linux/arm64"]],
      ["linux/amd64/v3", ["linux/amd64/v2", "linux/amd64", "linux/386"], ["linux/amd64/v4"]],
      ["linux/arm64/v9", ["linux/arm64/v9", "linux/arm/v8", "linux/arm/v5"], ["linux/arm64"]],
    ];
    for (const [want, yes, no] of takes) {
      const m = onlyPlatform(p(want));
      for (const y of yes) expect(m.match(p(y)), `${want} takes ${y}`).toBe(true);
      for (const n of no) expect(m.match(p(n)), `${want} refuses ${n}`).toBe(false);
    }
    expect(onlyPlatform(p("linux/amd64")).match(undefined)).toBe(false);
  });

  it("picks the best entry of an index: the platform itself before what it also runs, then the first listed", () => {
    const entries = ["linux/arm/v6", "linux/386", "linux/arm/v7", "linux/arm64/v8", "linux/amd64", "linux/amd64"].map((s, i) => ({ platform: p(s), i }));
    expect(onlyPlatform(p("linux/arm64")).best(entries)?.i).toBe(3);
    expect(onlyPlatform(p("linux/arm/v8")).best(entries)?.i).toBe(2);
    expect(onlyPlatform(p("linux/arm/v6")).best(entries)?.i).toBe(0);
    expect(onlyPlatform(p("linux/amd64")).best(entries)?.i).toBe(4);
    expect(onlyPlatform(p("linux/amd64")).best(entries.filter((e) => e.platform.architecture !== "amd64"))?.i).toBe(1);
    expect(onlyPlatform(p("linux/s390x")).best(entries)).toBeUndefined();
  });
});

describe("hostPlatform", () => {
  it("names this host's architecture as Go does", () => {
    const goarch: Record<string, string> = { x64: "amd64", arm64: "arm64", ia32: "386" };
    if (goarch[process.arch]) expect(hostArchitecture()).toBe(goarch[process.arch]);
    expect(hostPlatform().os).toBe("linux");
    expect(hostPlatform().architecture).toBe(hostArchitecture());
  });
});
