/**
 * Writes into a root and out of the store, as an attacker reviewing SafeRoot found them: a COPY
 * whose target replaces symlinks while the copier still holds the directory above them, a local
 * export into a directory that already holds the user's files, and who may enter the store.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "@tsbuild/oci";
import { build } from "../src/index.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-root-writes-"));
const root = join(work, "store");
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => storeBusyboxBase(root, "base:1", work), 60_000);

function context(name: string, dockerfile: string[], files: Record<string, string> = {}): string {
  const dir = join(work, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), dockerfile.join("\n"));
  return dir;
}

const platform = { os: "linux", architecture: "amd64" };

describe.each([["overlay"], ["copy"]] as const)("on the %s snapshotter", (snapshotter) => {
  it("COPY replaces symlinks (and more of them than the resolver keeps open) in a directory it is copying into", async () => {
    const files: Record<string, string> = { "src/b": "b\n" };
    for (let n = 0; n < 80; n++) files[`src/a${n}/l`] = `${n}\n`;
    const ctx = context(`copy-over-links-${snapshotter}`, [
      "FROM base:1",
      `RUN mkdir -p /dst && for n in $(seq 0 79); do mkdir -p /dst/a$n && ln -s /nowhere /dst/a$n/l; done`,
      "COPY src /dst/",
    ], files);
    const out = join(work, `out-links-${snapshotter}`);
    await build({ context: ctx, root, platform, snapshotter, outputs: [{ type: "local", dest: out }] });
    expect(readFileSync(join(out, "dst/b"), "utf8")).toBe("b\n");
    for (let n = 0; n < 80; n++) expect(readFileSync(join(out, `dst/a${n}/l`), "utf8")).toBe(`${n}\n`);
  }, 120_000);
});

describe("-o type=local into a directory that holds files already", () => {
  it("keeps them: the image's whiteouts and opaque directories apply to the image's own files only", async () => {
    const ctx = context("local-merge", [
      "FROM base:1",
      "RUN mkdir -p /data && echo image > /data/old && echo motd > /etc/motd",
      // a whiteout (/etc/motd) and an opaque directory (/data) in the last layer
      "RUN rm /etc/motd && rm -rf /data && mkdir /data && echo new > /data/new",
    ]);
    const out = join(work, "out-merge");
    mkdirSync(join(out, "data"), { recursive: true });
    mkdirSync(join(out, "etc"), { recursive: true });
    writeFileSync(join(out, "notes.txt"), "mine\n");
    writeFileSync(join(out, "data/mine.txt"), "mine\n");
    writeFileSync(join(out, "etc/motd"), "mine\n");
    await build({ context: ctx, root, platform, outputs: [{ type: "local", dest: out }] });
    expect(readFileSync(join(out, "data/new"), "utf8")).toBe("new\n");
    expect(existsSync(join(out, "data/old"))).toBe(false);
    for (const p of ["notes.txt", "data/mine.txt", "etc/motd"]) expect(readFileSync(join(out, p), "utf8")).toBe("mine\n");
    expect(existsSync(join(out, "bin/busybox"))).toBe(true);
  }, 120_000);
});

describe("the store", () => {
  it("keeps where image trees are unpacked and run for its owner alone (0700), also in a store made before", async () => {
    const s = await Store.open(root);
    for (const d of ["tmp", "snapshots", "cache", "runc"]) expect((statSync(join(s.root, d)).mode & 0o777).toString(8)).toBe("700");
  });
});
