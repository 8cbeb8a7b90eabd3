/**
 * Symlinks in a build context (or a stage's root) that point out of it (issue 13, item 4): globs,
 * plain sources, ADD archives, COPY --from and .dockerignore resolve them inside the root, as
 * BuildKit does (an absolute target means the root, ".." stops there). A canary directory outside
 * the context, that the hostile links point at, must never be listed, read or changed: none of the
 * names or the content only it holds may appear in an image, an error or an event.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, type BuildEvent } from "../src/index.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-escape-"));
const canary = join(work, "canary");
const store = join(work, "store");
const platform = { os: "linux", architecture: "amd64" };
/** what only the canary holds: found anywhere, something read or listed the host directory */
const SECRETS = ["HOSTONLY-CONTENT", "HOSTONLY-listed", "HOSTONLY-nested", "HOSTONLY-from-tar"];
const events: BuildEvent[] = [];
let outs = 0;

/** Every path, type, mode, size, mtime and content hash under dir. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = join(dir, rel);
    const st = lstatSync(abs);
    const hash = st.isFile() ? createHash("sha256").update(readFileSync(abs)).digest("hex") : "";
    out.push(`${rel} ${st.mode} ${st.size} ${st.mtimeMs} ${st.uid}:${st.gid} ${hash}`);
    if (st.isDirectory()) for (const n of readdirSync(abs).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk("");
  return out;
}
let canaryBefore: string[] = [];

/** Names and regular-file contents of an exported tree (link targets are the context's own words). */
function treeText(dir: string): string {
  const parts: string[] = [];
  const walk = (abs: string): void => {
    for (const n of readdirSync(abs)) {
      const c = join(abs, n);
      parts.push(n);
      const st = lstatSync(c);
      if (st.isDirectory()) walk(c);
      else if (st.isFile()) parts.push(readFileSync(c, "latin1"));
    }
  };
  walk(dir);
  return parts.join("\n");
}

function expectNoSecret(text: string): void {
  for (const s of SECRETS) expect(text).not.toContain(s);
}

/** A tar of one file `name` holding `content`. */
function tarOf(path: string, name: string, content: string): void {
  const d = mkdtempSync(join(work, "tar-"));
  writeFileSync(join(d, name), content);
  execFileSync("tar", ["-cf", path, "-C", d, name]);
  rmSync(d, { recursive: true, force: true });
}

/** A context with hostile links; where they lead inside it (the context + the canary's path) holds decoys. */
function hostileContext(name: string): { dir: string; inRoot: string } {
  const dir = join(work, name);
  mkdirSync(dir);
  const inRoot = join(dir, canary.slice(1));
  mkdirSync(join(inRoot, "decoysub"), { recursive: true });
  writeFileSync(join(inRoot, "decoy.txt"), "in the context\n");
  writeFileSync(join(inRoot, "decoysub", "inner.txt"), "inner\n");
  tarOf(join(inRoot, "HOSTONLY.tar"), "from-decoy-tar", "decoy tar\n");
  symlinkSync(canary, join(dir, "abs"));
  symlinkSync(`${"../".repeat(12)}${canary.slice(1)}`, join(dir, "rel"));
  symlinkSync(join(canary, "HOSTONLY-secret"), join(dir, "absfile"));
  symlinkSync(join(canary, "HOSTONLY.tar"), join(dir, "abstar"));
  writeFileSync(join(dir, "visible.txt"), "visible\n");
  return { dir, inRoot };
}

async function run(context: string, dockerfile: string): Promise<{ out: string; error?: string }> {
  const out = join(work, `out-${++outs}`);
  try {
    await build({
      context, root: store, platform, dockerfileText: dockerfile, outputs: [{ type: "local", dest: out }],
      onEvent: (e) => events.push(e),
    });
    return { out };
  } catch (e) {
    return { out, error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

beforeAll(() => {
  mkdirSync(join(canary, "sub"), { recursive: true });
  writeFileSync(join(canary, "HOSTONLY-secret"), "HOSTONLY-CONTENT\n");
  writeFileSync(join(canary, "HOSTONLY-listed"), "HOSTONLY-CONTENT listed\n");
  writeFileSync(join(canary, "sub", "HOSTONLY-nested"), "HOSTONLY-CONTENT nested\n");
  writeFileSync(join(canary, "HOSTONLY-ignore"), "visible.txt\n");
  tarOf(join(canary, "HOSTONLY.tar"), "HOSTONLY-from-tar", "HOSTONLY-CONTENT in a tar\n");
  canaryBefore = snapshot(canary);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("symlinks out of the context resolve inside it", () => {
  let ctx: { dir: string; inRoot: string };
  beforeAll(() => {
    ctx = hostileContext("ctx");
  });

  it("globs through an absolute and a relative link list where they lead inside the context", async () => {
    const r = await run(ctx.dir, "FROM scratch\nCOPY abs/* /a/\nCOPY rel/* /r/\nCOPY abs/*/* /n/\nCOPY abs/HOSTONLY* /h/\n");
    expect(r.error).toBeUndefined();
    expect(readdirSync(join(r.out, "a")).sort()).toEqual(["HOSTONLY.tar", "decoy.txt", "inner.txt"]);
    expect(readFileSync(join(r.out, "a", "decoy.txt"), "utf8")).toBe("in the context\n");
    expect(readdirSync(join(r.out, "r")).sort()).toEqual(["HOSTONLY.tar", "decoy.txt", "inner.txt"]);
    expect(readdirSync(join(r.out, "n"))).toEqual(["inner.txt"]);
    expect(readdirSync(join(r.out, "h"))).toEqual(["HOSTONLY.tar"]); // the decoy, by the name the context gave it
    expectNoSecret(treeText(r.out));
  }, 120_000);

  it("a source that is a link out of the context copies where it leads inside", async () => {
    const r = await run(ctx.dir, "FROM scratch\nCOPY abs /d/\nCOPY rel/decoysub /s/\n");
    expect(r.error).toBeUndefined();
    expect(readdirSync(join(r.out, "d")).sort()).toEqual(["HOSTONLY.tar", "decoy.txt", "decoysub"]);
    expect(readdirSync(join(r.out, "s"))).toEqual(["inner.txt"]);
    expectNoSecret(treeText(r.out));
  }, 120_000);

  it("a host file behind a link is not found, the same as a name that exists nowhere", async () => {
    const viaFile = await run(ctx.dir, "FROM scratch\nCOPY absfile /f\n");
    const viaDir = await run(ctx.dir, "FROM scratch\nCOPY abs/HOSTONLY-listed /f\n");
    const nowhere = await run(ctx.dir, "FROM scratch\nCOPY abs/NOWHERE-listed /f\n");
    expect(viaFile.error).toMatch(/"absfile": not found/);
    expect(viaDir.error).toMatch(/not found/);
    expect(viaDir.error?.replace("HOSTONLY", "NOWHERE")).toBe(nowhere.error);
    for (const e of [viaFile.error, viaDir.error?.replace("HOSTONLY-listed", ""), nowhere.error]) expectNoSecret(e ?? "");
  }, 120_000);

  it("a wildcard matching a link whose target is not in the context is not found, naming no host path", async () => {
    const r = await run(ctx.dir, "FROM scratch\nCOPY absf* /f/\n");
    expect(r.error).toMatch(/^BuildError: COPY failed: "absf\*": not found \(\/absfile is a symlink to \/.*HOSTONLY-secret, which is not there\)$/);
    expect(r.error).not.toContain(ctx.dir);
  }, 120_000);

  it("ADD of an archive behind a link out of the context unpacks the one inside", async () => {
    const r = await run(ctx.dir, "FROM scratch\nADD abstar /t/\n");
    expect(r.error).toBeUndefined();
    expect(readdirSync(join(r.out, "t"))).toEqual(["from-decoy-tar"]);
    expectNoSecret(treeText(r.out));
  }, 120_000);

  it("COPY --from a stage resolves the stage's links inside the stage's root", async () => {
    const files = join(ctx.dir, "stagefiles");
    mkdirSync(join(files, canary.slice(1)), { recursive: true });
    writeFileSync(join(files, canary.slice(1), "stage-decoy.txt"), "in the stage\n");
    symlinkSync(canary, join(files, "abs"));
    symlinkSync(`${"../".repeat(12)}${canary.slice(1)}`, join(files, "rel"));
    const r = await run(ctx.dir, "FROM scratch AS a\nCOPY stagefiles/ /\nFROM scratch\nCOPY --from=a /abs/* /sa/\nCOPY --from=a rel /sr/\nCOPY --from=a /abs/sub/* /none/\n");
    expect(r.error).toBeUndefined();
    expect(readdirSync(join(r.out, "sa"))).toEqual(["stage-decoy.txt"]);
    expect(readdirSync(join(r.out, "sr"))).toEqual(["stage-decoy.txt"]);
    expect(readdirSync(r.out).sort()).toEqual(["sa", "sr"]); // abs/sub/* matched nothing: the canary's sub/ is not the stage's
    expectNoSecret(treeText(r.out));
  }, 120_000);

  it("a .dockerignore that is a link out of the context is read inside it (here: absent)", async () => {
    const c = hostileContext("ctx-ignore");
    symlinkSync(join(canary, "HOSTONLY-ignore"), join(c.dir, ".dockerignore"));
    const r = await run(c.dir, "FROM scratch\nCOPY visible.txt /v/\nCOPY . /all/\n");
    expect(r.error).toBeUndefined();
    expect(readFileSync(join(r.out, "v", "visible.txt"), "utf8")).toBe("visible\n"); // the host file's pattern did not apply
    expectNoSecret(treeText(r.out));
  }, 120_000);

  it("a .dockerignore link inside the context is followed there", async () => {
    const c = hostileContext("ctx-ignore-inside");
    writeFileSync(join(c.dir, "patterns"), "visible.txt\n");
    symlinkSync("/patterns", join(c.dir, ".dockerignore"));
    const r = await run(c.dir, "FROM scratch\nCOPY visible.tx[t] /v/\nCOPY abs /d/\n");
    expect(r.error).toBeUndefined();
    expect(readdirSync(r.out)).toEqual(["d"]); // visible.txt ignored (the glob matched nothing)
  }, 120_000);

  it("RUN --mount=type=bind of a link out of the context binds where it leads inside (read-only and rw)", async () => {
    await storeBusyboxBase(store, "base:1", work);
    const r = await run(ctx.dir, [
      "FROM base:1",
      "RUN --mount=type=bind,source=abs,target=/m ls /m > /ls.out && cat /m/decoy.txt > /cat.out",
      "RUN --mount=type=bind,source=rel,target=/w,rw=true ls /w > /rw.out",
    ].join("\n") + "\n");
    expect(r.error).toBeUndefined();
    expect(readFileSync(join(r.out, "ls.out"), "utf8").split("\n").filter(Boolean)).toEqual(["HOSTONLY.tar", "decoy.txt", "decoysub"]);
    expect(readFileSync(join(r.out, "cat.out"), "utf8")).toBe("in the context\n");
    expect(readFileSync(join(r.out, "rw.out"), "utf8")).toBe(readFileSync(join(r.out, "ls.out"), "utf8"));
    const missing = await run(ctx.dir, "FROM base:1\nRUN --mount=type=bind,source=absfile,target=/f cat /f\n");
    expect(missing.error).toMatch(/"absfile" not found in the build context/);
    expectNoSecret(missing.error ?? "");
  }, 180_000);

  it("no event named or held what only the canary has, and the canary is untouched", () => {
    expect(events.length).toBeGreaterThan(0);
    expectNoSecret(JSON.stringify(events).replace(/HOSTONLY-listed/g, "")); // (the one Dockerfile that names it)
    expect(snapshot(canary)).toEqual(canaryBefore);
  });
});
