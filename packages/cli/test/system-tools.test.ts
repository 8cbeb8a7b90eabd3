/**
 * A missing system tool fails the build before anything starts, naming the tool, what needs it and
 * its Debian package (issue 21's first minutes: `getfattr could not run: spawn getfattr ENOENT`).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { findTool, forgetTools, MissingToolError, systemTools, toolPath } from "@tsbuild/oci";

const bin = fileURLToPath(new URL("../bin/tsbuild.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "tsbuild-tools-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A PATH directory with every tool tsbuild runs but `without`. */
function pathWithout(without: string): string {
  const dir = join(work, `bin-${without}`);
  if (existsSync(dir)) return dir;
  mkdirSync(dir);
  for (const t of systemTools()) if (t.name !== without && t.path) symlinkSync(t.path, join(dir, t.name));
  return dir;
}

describe("system tools", () => {
  it("are looked up once in PATH (and the sbin directories); a missing one names its package", () => {
    expect(toolPath("cp")).toMatch(/\/cp$/);
    const saved = process.env.PATH;
    try {
      process.env.PATH = join(work, "nothing");
      forgetTools();
      expect(findTool("cp")).toBeUndefined();
      expect(() => toolPath("getfattr")).toThrow(MissingToolError);
      expect(() => toolPath("getfattr")).toThrow("getfattr is not installed: tsbuild needs it for overlay snapshots (whiteouts, opaque directories, xattrs in layers); install it with `apt-get install attr`");
      expect(() => toolPath("zstd")).toThrow("apt-get install zstd");
    } finally {
      process.env.PATH = saved;
      forgetTools();
    }
  });

  it("a build without getfattr fails before it makes anything, saying what to install", () => {
    const root = join(work, "store");
    const ctx = join(work, "ctx");
    mkdirSync(ctx);
    writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nWORKDIR /app\n");
    const r = spawnSync(process.execPath, [bin, "build", "--root", root, "--snapshotter", "overlay", ctx], { env: { PATH: pathWithout("getfattr") }, encoding: "utf8" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("getfattr is not installed");
    expect(r.stderr).toContain("apt-get install attr");
    expect(r.stderr).not.toContain("ENOENT");
    // no snapshot, no scratch
    const snaps = join(root, "snapshots", "overlay");
    expect(existsSync(snaps) ? readdirSync(snaps).filter((n) => n !== "tmp") : []).toEqual([]);
    expect(existsSync(join(root, "tmp")) ? readdirSync(join(root, "tmp")) : []).toEqual([]);
  });

  it("a build with a RUN and no runc fails before it makes anything (runc hidden in a mount namespace of its own)", () => {
    const root = join(work, "store-runc");
    const ctx = join(work, "ctx-runc");
    mkdirSync(ctx);
    writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nRUN true\n");
    const runc = findTool("runc") as string;
    const empty = join(work, "empty");
    mkdirSync(empty, { recursive: true });
    // a private mount namespace: the empty directory over runc's, for this one process only
    const script = `mount --bind ${empty} ${dirname(runc)} && exec ${process.execPath} ${bin} build --root ${root} ${ctx}`;
    const r = spawnSync("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/sh", "-c", script], { env: { PATH: pathWithout("runc") }, encoding: "utf8" });
    expect(r.stderr).toContain("runc is not installed: tsbuild needs it for RUN steps; install it with `apt-get install runc`");
    expect(r.status).toBe(1);
    expect(existsSync(join(root, "snapshots", "overlay")) ? readdirSync(join(root, "snapshots", "overlay")).filter((n) => n !== "tmp") : []).toEqual([]);
    expect(readdirSync(join(root, "tmp"))).toEqual([]);
    expect(readdirSync(join(root, "blobs", "sha256"))).toEqual([]);
  });

  it("tsbuild info says what it found, as text and JSON, and fails where a build could not run", () => {
    const root = join(work, "info-store");
    const ok = spawnSync(process.execPath, [bin, "info", "--root", root, "--format", "json"], { encoding: "utf8" });
    expect(ok.status).toBe(0);
    const info = JSON.parse(ok.stdout) as { version: string; store: { root: string }; snapshotter: { kind: string; why: string }; runtime: { version?: string }; tools: { name: string; path?: string; pkg: string }[]; problems: string[] };
    expect(info.version).toBe((JSON.parse(readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8")) as { version: string }).version);
    expect(info.store.root).toBe(root);
    expect(info.snapshotter.kind).toBe("overlay");
    expect(info.runtime.version).toMatch(/^runc version/);
    expect(info.tools.find((t) => t.name === "getfattr")?.pkg).toBe("attr");
    expect(info.problems).toEqual([]);
    const copy = spawnSync(process.execPath, [bin, "info", "--root", root, "--snapshotter", "copy", "--format", "json"], { encoding: "utf8" });
    expect(copy.status).toBe(0);
    expect((JSON.parse(copy.stdout) as { snapshotter: { kind: string; why: string } }).snapshotter).toEqual({ kind: "copy", why: "asked for (--snapshotter copy)" });
    const copyText = spawnSync(process.execPath, [bin, "info", "--root", root, "--snapshotter", "copy"], { encoding: "utf8" });
    expect(copyText.stdout).toMatch(/^snapshotter: {2}copy: asked for \(--snapshotter copy\)$/m);
    expect(copyText.stdout).toContain("ready: builds can run here");
    const missing = spawnSync(process.execPath, [bin, "info", "--root", root], { env: { PATH: pathWithout("getfattr") }, encoding: "utf8" });
    expect(missing.status).toBe(1);
    expect(missing.stdout).toMatch(/getfattr\s+missing \(apt-get install attr\)/);
    expect(missing.stdout).toContain("problems (a build cannot run here until they are fixed):");
    expect(missing.stdout).toContain("getfattr is missing (needed for overlay snapshots");
  });
});
