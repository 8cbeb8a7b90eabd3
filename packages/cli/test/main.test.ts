import { describe, expect, it } from "vitest";
import { PassThrough } from "node:stream";
import { main } from "@tsbuild/cli";

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  return { io: { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() }, out: () => out, err: () => err };
}

describe("tsbuild command dispatch", () => {
  it("prints help and exits 0 with --help", async () => {
    const t = io();
    expect(await main(["--help"], t.io)).toBe(0);
    expect(t.out()).toContain("usage: tsbuild");
  });
  it("exits 2 on an unknown command", async () => {
    const t = io();
    expect(await main(["frobnicate", "x"], t.io)).toBe(2);
  });
});
