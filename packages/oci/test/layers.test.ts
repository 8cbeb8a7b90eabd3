import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, linkSync, chownSync, readdirSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:net";
import { PassThrough, Readable, Writable } from "node:stream";
import { createGunzip, gunzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import {
  applyLayer, applyLayerToNewDir, gzipParallel, GzipWorkerPool, sharedGzipPool, readXattrs, sha256Digest, walkDirectory, writeLayer,
  UnsafeLayerError, TarFormatError, type LayerEntry,
} from "../src/index.js";
import { encodeHeader, padding, type TarHeader } from "../src/layer/tar-format.js";

const isRoot = process.getuid?.() === 0;
const work = mkdtempSync(join(tmpdir(), "tsbuild-layers-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A description of a tree: what the round trip must preserve (mtimes of dirs aside). */
function describeTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${n}` : n;
      const st = lstatSync(join(root, p));
      let kind = "";
      if (st.isDirectory()) kind = "dir";
      else if (st.isSymbolicLink()) kind = `symlink:${readlinkSync(join(root, p))}`;
      else if (st.isFile()) kind = `file:${sha256Digest(readFileSync(join(root, p)))}`;
      else if (st.isFIFO()) kind = "fifo";
      else if (st.isCharacterDevice()) kind = `char:${st.rdev}`;
      else if (st.isBlockDevice()) kind = `block:${st.rdev}`;
      else if (st.isSocket()) kind = "socket";
      if (st.isFile() && st.nlink > 1) {
        const first = inodes.get(st.ino);
        if (first) kind += ` link-of:${first}`;
        else inodes.set(st.ino, p);
      }
      const mtime = st.isDirectory() ? "" : ` mtime:${Math.floor(st.mtimeMs / 1000)}`;
      out[p] = `${kind} mode:${(st.mode & 0o7777).toString(8)} owner:${st.uid}:${st.gid}${mtime}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk("");
  return out;
}

async function toBuffer(fn: (out: Writable) => Promise<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const out = new Writable({ write(c, _e, cb) { chunks.push(c); cb(); } });
  await fn(out);
  return Buffer.concat(chunks);
}

let src: string;
let socketServer: Server | undefined;
afterAll(() => socketServer?.close()); // (closing it unlinks the socket)
beforeAll(async () => {
  src = join(work, "src");
  mkdirSync(join(src, "dir/sub"), { recursive: true });
  writeFileSync(join(src, "dir/file.txt"), "hello\n");
  writeFileSync(join(src, "empty"), "");
  writeFileSync(join(src, "big.bin"), Buffer.alloc(3 * 1024 * 1024 + 17, 7));
  chmodSync(join(src, "dir/file.txt"), 0o4755);
  mkdirSync(join(src, "sticky"));
  chmodSync(join(src, "sticky"), 0o1777);
  symlinkSync("dir/file.txt", join(src, "link-rel"));
  symlinkSync("/etc/passwd", join(src, "link-abs"));
  linkSync(join(src, "dir/file.txt"), join(src, "hard"));
  const long = "d".repeat(120) + "/" + "e".repeat(120);
  mkdirSync(join(src, long), { recursive: true });
  writeFileSync(join(src, long, "f".repeat(150)), "long name\n");
  symlinkSync("t".repeat(200), join(src, "long-link"));
  writeFileSync(join(src, "ünïcödé.txt"), "utf8 name\n");
  if (isRoot) {
    chownSync(join(src, "dir/sub"), 1000, 1001);
    chownSync(join(src, "empty"), 3000000, 3000001);
    execFileSync("mkfifo", [join(src, "fifo")]);
    execFileSync("mknod", [join(src, "null-dev"), "c", "1", "3"]);
    execFileSync("mknod", [join(src, "dir/blk-dev"), "b", "7", "200"]);
    chownSync(join(src, "dir/blk-dev"), 6, 7);
    chmodSync(join(src, "dir/blk-dev"), 0o640);
    execFileSync("setfattr", ["-n", "user.comment", "-v", "hi", join(src, "empty")]);
    execFileSync("setfattr", ["-n", "security.capability", "-v", "0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=", join(src, "big.bin")]);
  }
  // a unix socket: a layer cannot hold one, so the writer skips it
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(join(src, "dir/app.sock"), resolve));
  socketServer = server;
});

describe("layer round trip", () => {
  it("tree → layer → applied tree is identical, for every entry kind", async () => {
    const tar = await toBuffer((out) => writeLayer(walkDirectory(src, { xattrs: true }), out));
    const dst = join(work, "dst");
    const r = await applyLayerToNewDir(Readable.from([tar]), dst);
    expect(r.diffId).toBe(sha256Digest(tar));
    const { "dir/app.sock": socket, ...expected } = describeTree(src);
    expect(socket).toMatch(/^socket /);
    expect(describeTree(dst)).toEqual(expected);
    expect(existsSync(join(dst, "dir/app.sock"))).toBe(false);
    const listing = execFileSync("tar", ["-tvf", "-"], { input: tar }).toString().split("\n");
    expect(listing.filter((l) => l.includes("app.sock"))).toEqual([]);
    if (isRoot) {
      // the block device: type, major/minor, mode and owner survive the round trip
      expect(expected["dir/blk-dev"]).toMatch(/^block:\d+ mode:640 owner:6:7 /);
      const blk = lstatSync(join(dst, "dir/blk-dev"));
      expect(blk.isBlockDevice()).toBe(true);
      expect([Math.floor(blk.rdev / 256), blk.rdev % 256]).toEqual([7, 200]);
      expect(listing.find((l) => l.endsWith("dir/blk-dev"))).toMatch(/^brw-r----- 6\/7 +7,200 /);
    }
    if (isRoot) {
      const a = await readXattrs(src);
      const b = await readXattrs(dst);
      expect(b.get("empty")).toEqual(a.get("empty"));
      expect(b.get("big.bin")?.["security.capability"]).toEqual(a.get("big.bin")?.["security.capability"]);
    }
  });
  it("the diff id covers the whole stream, also when the end of the tar arrives late", async () => {
    const small = join(work, "small-src");
    mkdirSync(small);
    writeFileSync(join(small, "a"), "hello");
    const tar = await toBuffer((out) => writeLayer(walkDirectory(small), out));
    // the last zero block comes after a pause, once the reader has stopped at the first one
    async function* late(): AsyncIterable<Buffer> {
      yield tar.subarray(0, tar.length - 512);
      await new Promise((r) => setTimeout(r, 50));
      yield tar.subarray(tar.length - 512);
    }
    const r = await applyLayerToNewDir(Readable.from(late()), join(work, "dst-late"));
    expect(r.diffId).toBe(sha256Digest(tar));
  });
  it("is deterministic: the same tree gives the same diff id", async () => {
    const a = await toBuffer((out) => writeLayer(walkDirectory(src), out));
    const b = await toBuffer((out) => writeLayer(walkDirectory(src), out));
    expect(sha256Digest(a)).toBe(sha256Digest(b));
  });
  it("clamps mtimes to SOURCE_DATE_EPOCH", async () => {
    const tar = await toBuffer((out) => writeLayer(walkDirectory(src), out, { sourceDateEpoch: 1000 }));
    const dst = join(work, "clamped");
    await applyLayerToNewDir(Readable.from([tar]), dst);
    expect(Math.floor(lstatSync(join(dst, "dir/file.txt")).mtimeMs / 1000)).toBe(1000);
  });
  it("reads the tar with GNU tar too", async () => {
    const f = join(work, "layer.tar");
    writeFileSync(f, await toBuffer((out) => writeLayer(walkDirectory(src), out)));
    const list = execFileSync("tar", ["-tvf", f]).toString();
    expect(list).toContain("d".repeat(120));
    expect(list).toContain("ünïcödé.txt");
  });
});

describe("whiteouts and opaque directories", () => {
  it("apply over a lower tree", async () => {
    const lower = join(work, "lower");
    mkdirSync(join(lower, "keep"), { recursive: true });
    mkdirSync(join(lower, "gone/deep"), { recursive: true });
    mkdirSync(join(lower, "opaque"), { recursive: true });
    writeFileSync(join(lower, "keep/a"), "a");
    writeFileSync(join(lower, "keep/b"), "b");
    writeFileSync(join(lower, "opaque/old"), "old");
    const t = new Date(0);
    const entries: LayerEntry[] = [
      { path: "gone", type: "whiteout", mode: 0, uid: 0, gid: 0, mtime: t },
      { path: "keep/b", type: "whiteout", mode: 0, uid: 0, gid: 0, mtime: t },
      { path: "opaque", type: "dir", mode: 0o755, uid: 0, gid: 0, mtime: t },
      { path: "opaque", type: "opaque", mode: 0, uid: 0, gid: 0, mtime: t },
      { path: "opaque/new", type: "file", mode: 0o644, uid: 0, gid: 0, mtime: t, size: 3, open: () => Readable.from([Buffer.from("new")]) },
    ];
    const tar = await toBuffer((out) => writeLayer(entries, out));
    expect(execFileSync("tar", ["-tf", "-"], { input: tar }).toString().split("\n")).toEqual([
      ".wh.gone", "keep/.wh.b", "opaque/", "opaque/.wh..wh..opq", "opaque/new", "",
    ]);
    await applyLayer(Readable.from([tar]), lower);
    expect(existsSync(join(lower, "gone"))).toBe(false);
    expect(readdirSync(join(lower, "keep"))).toEqual(["a"]);
    expect(readdirSync(join(lower, "opaque"))).toEqual(["new"]);
  });
});

/** Builds a tar from raw headers (for hostile layers). */
function craft(items: { h: Partial<TarHeader> & { name: string }; body?: Buffer }[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const { h, body } of items) {
    const full: TarHeader = {
      mode: 0o644, uid: 0, gid: 0, size: body?.length ?? 0, mtime: new Date(0), type: "0", linkname: "", uname: "", gname: "",
      devmajor: 0, devminor: 0, pax: new Map(), ...h,
    };
    parts.push(encodeHeader(full));
    if (body) parts.push(body, Buffer.alloc(padding(body.length)));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Everything about a tree that a write through it could change: names, kinds, modes, owners, contents, times, xattrs. */
function treeState(root: string): string {
  const lines: string[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${n}` : n;
      const st = lstatSync(join(root, p));
      const body = st.isFile() ? sha256Digest(readFileSync(join(root, p))) : st.isSymbolicLink() ? readlinkSync(join(root, p)) : "";
      lines.push(`${p} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${st.nlink} ${body}`);
      if (st.isDirectory()) walk(p);
    }
  };
  const top = lstatSync(root);
  lines.push(`. ${top.mode.toString(8)} ${top.uid}:${top.gid} ${top.mtimeMs}`);
  walk("");
  lines.push(execFileSync("getfattr", ["-R", "-P", "-d", "-m", "-", "--absolute-names", root]).toString());
  return lines.join("\n");
}

describe("hostile layers are refused or contained, and leave nothing behind", () => {
  const outside = join(work, "outside");
  beforeAll(() => {
    mkdirSync(join(outside, "sub"), { recursive: true });
    writeFileSync(join(outside, "target"), "host file");
    chmodSync(join(outside, "target"), 0o644);
    writeFileSync(join(outside, "sub/deep"), "deep host file");
    symlinkSync("target", join(outside, "link"));
    for (const p of ["target", "sub/deep", "sub", "."]) execFileSync("touch", ["-h", "-d", "2001-02-03 04:05:06", join(outside, p)]);
  });
  const file = (name: string, text = "x", h: Partial<TarHeader> = {}) => ({ h: { name, ...h }, body: Buffer.from(text) });
  const long = (c: string) => c.repeat(255);
  const cases: { name: string; tar: () => Buffer; expect: "refused" | "contained"; check?: (dir: string) => void }[] = [
    { name: "../ traversal", tar: () => craft([file("../outside/pwned")]), expect: "refused" },
    { name: "deep ../ traversal", tar: () => craft([file("a/../../outside/pwned")]), expect: "refused" },
    { name: "absolute path is the image root", tar: () => craft([file(`/${"etc/abs"}`)]), expect: "contained",
      check: (d) => expect(readFileSync(join(d, "etc/abs"), "utf8")).toBe("x") },
    { name: "symlink to host dir, then write through it", tar: () => craft([{ h: { name: "evil", type: "2", linkname: outside } }, file("evil/pwned")]),
      expect: "contained", check: (d) => expect(existsSync(join(d, outside.slice(1), "pwned"))).toBe(true) },
    { name: "relative symlink escaping, then write through it", tar: () => craft([{ h: { name: "up", type: "2", linkname: "../../../../../../.." } }, file("up/tmp/pwned2")]),
      expect: "contained", check: (d) => expect(existsSync(join(d, "tmp/pwned2"))).toBe(true) },
    { name: "hard link to a host file", tar: () => craft([{ h: { name: "hl", type: "1", linkname: "/etc/passwd" } }]), expect: "refused" },
    { name: "hard link climbing out", tar: () => craft([{ h: { name: "hl", type: "1", linkname: "../../etc/passwd" } }]), expect: "refused" },
    { name: "hard link through a symlink to the host", tar: () => craft([{ h: { name: "e", type: "2", linkname: "/etc" } }, { h: { name: "hl", type: "1", linkname: "e/passwd" } }]), expect: "refused" },
    { name: "whiteout of ..", tar: () => craft([file("a/.wh..."), file("x")]), expect: "refused" },
    { name: "whiteout through a symlink to the host", tar: () => craft([{ h: { name: "e", type: "2", linkname: outside } }, file("e/.wh.keepme")]),
      expect: "contained" },
    { name: "giant PAX header", tar: () => craft([{ h: { name: "big", pax: new Map([["comment", Buffer.alloc(2 << 20, 97)]]) } }]), expect: "refused" },
    { name: "truncated stream", tar: () => craft([file("a", "hello world")], false).subarray(0, 600), expect: "refused" },
    { name: "bad checksum", tar: () => { const b = craft([file("a")]); b[0] = 0x7a; return b; }, expect: "refused" },
    { name: "NUL in name via PAX", tar: () => craft([{ h: { name: "x", pax: new Map([["path", Buffer.from("a\0b")]]) } }]), expect: "refused" },
    { name: "duplicate entries: the later wins", tar: () => craft([file("dup", "one"), file("dup", "two")]), expect: "contained",
      check: (d) => expect(readFileSync(join(d, "dup"), "utf8")).toBe("two") },
    { name: "file replaced by a symlink to the host, then written", tar: () => craft([file("f"), { h: { name: "f", type: "2", linkname: join(outside, "target") } }, file("f", "new")]),
      expect: "contained", check: (d) => expect(readFileSync(join(d, "f"), "utf8")).toBe("new") },
    { name: "unsupported entry type", tar: () => craft([{ h: { name: "s", type: "S" as TarHeader["type"] } }]), expect: "refused" },
    { name: "a symlink planted at the unpacker's old temp name, then the file (setuid)", tar: () => craft([
      { h: { name: "etc/motd.tsbuild-partial", type: "2", linkname: join(outside, "target") } }, file("etc/motd", "pwned", { mode: 0o4777 })]),
      expect: "contained", check: (d) => {
        expect(readFileSync(join(d, "etc/motd"), "utf8")).toBe("pwned");
        expect(lstatSync(join(d, "etc/motd")).mode & 0o7777).toBe(0o4777);
        expect(lstatSync(join(d, "etc/motd.tsbuild-partial")).isSymbolicLink()).toBe(true);
      } },
    { name: "a directory, then a symlink to the host in its place (deferred directory times)", tar: () => craft([
      { h: { name: "t", type: "5", mode: 0o777, mtime: new Date(1e12) } }, { h: { name: "t", type: "2", linkname: outside } }]),
      expect: "contained", check: (d) => expect(readlinkSync(join(d, "t"))).toBe(outside) },
    { name: "a directory under a symlinked parent, then the parent replaced by a link to the host", tar: () => craft([
      { h: { name: "p/q", type: "5", mode: 0o777, mtime: new Date(1e12) } }, { h: { name: "p", type: "2", linkname: outside } }]),
      expect: "contained" },
    { name: "a file over a symlink to a host file", tar: () => craft([{ h: { name: "l", type: "2", linkname: join(outside, "target") } }, file("l", "new", { mode: 0o4755 })]),
      expect: "contained", check: (d) => expect(readFileSync(join(d, "l"), "utf8")).toBe("new") },
    { name: "a directory entry over a symlink to a host dir (mode, owner, times)", tar: () => craft([
      { h: { name: "l", type: "2", linkname: outside } }, { h: { name: "l", type: "5", mode: 0o777, uid: 1234, mtime: new Date(1e12) } }]),
      expect: "contained", check: (d) => expect(lstatSync(join(d, "l")).isDirectory()).toBe(true) },
    { name: "a symlink entry with mode 0777 pointing at a host file", tar: () => craft([{ h: { name: "l", type: "2", linkname: join(outside, "target"), mode: 0o777, uid: 4321 } }]),
      expect: "contained" },
    { name: "xattrs on a symlink pointing at a host file", tar: () => craft([{ h: { name: "l", type: "2", linkname: join(outside, "target"),
      pax: new Map([["SCHILY.xattr.trusted.pwned", Buffer.from("yes")]]) } }]), expect: "contained",
      check: (d) => expect(execFileSync("getfattr", ["-h", "-n", "trusted.pwned", "--only-values", join(d, "l")]).toString()).toBe("yes") },
    { name: "a device node through a symlinked parent", tar: () => craft([{ h: { name: "d", type: "2", linkname: outside } }, { h: { name: "d/null", type: "3", devmajor: 1, devminor: 3 } }]),
      expect: "contained", check: (d) => expect(lstatSync(join(d, outside.slice(1), "null")).isCharacterDevice()).toBe(true) },
    { name: "a fifo over a symlink to a host file", tar: () => craft([{ h: { name: "f", type: "2", linkname: join(outside, "target") } }, { h: { name: "f", type: "6" } }]),
      expect: "contained", check: (d) => expect(lstatSync(join(d, "f")).isFIFO()).toBe(true) },
    { name: "a hard link to a symlink that points at a host file, then a write through the link", tar: () => craft([
      { h: { name: "s", type: "2", linkname: outside } }, { h: { name: "h", type: "1", linkname: "s" } }, file("h/x")]),
      expect: "contained", check: (d) => expect(readFileSync(join(d, outside.slice(1), "x"), "utf8")).toBe("x") },
    { name: "opaque marker in a directory reached through a symlink to the host", tar: () => craft([{ h: { name: "e", type: "2", linkname: outside } }, file("e/.wh..wh..opq", "")]),
      expect: "contained" },
    { name: "whiteout of a host file named through ../ in a symlink", tar: () => craft([{ h: { name: "e", type: "2", linkname: "../../../../../../../../" + outside.slice(1) } }, file("e/.wh.target", "")]),
      expect: "contained" },
    { name: "a symlink loop as a parent", tar: () => craft([{ h: { name: "a", type: "2", linkname: "b" } }, { h: { name: "b", type: "2", linkname: "a" } }, file("a/x")]),
      expect: "refused" },
    { name: "a file below a regular file", tar: () => craft([file("f"), file("f/x")]), expect: "refused" },
    { name: "names of 255 bytes (a file, a directory, a symlink, a hard link)", tar: () => craft([
      { h: { name: `${long("d")}/`, type: "5", mode: 0o755 } }, file(`${long("d")}/${long("f")}`, "long", { mode: 0o4755 }),
      { h: { name: long("s"), type: "2", linkname: long("t") } }, { h: { name: `${long("d")}/${long("h")}`, type: "1", linkname: `${long("d")}/${long("f")}` } }]),
      expect: "contained", check: (d) => {
        expect(readFileSync(join(d, long("d"), long("f")), "utf8")).toBe("long");
        expect(lstatSync(join(d, long("d"), long("h"))).nlink).toBe(2);
        expect(readlinkSync(join(d, long("s")))).toBe(long("t"));
      } },
    { name: "a name of 256 bytes", tar: () => craft([file("n".repeat(256))]), expect: "refused" },
    { name: "hard links across directories after more directories than the resolver keeps open", tar: () => craft([
      file("usr/bin/git", "git"), ...Array.from({ length: 130 }, (_, n) => file(`d${n}/f`, String(n))),
      { h: { name: "usr/lib/git-core/git-0", type: "1", linkname: "usr/bin/git" } },
      { h: { name: "s", type: "2", linkname: "d1" } }, ...Array.from({ length: 70 }, (_, n) => file(`e${n}/f`)),
      { h: { name: "h/link", type: "1", linkname: "s/f" } }]),
      expect: "contained", check: (d) => {
        expect(lstatSync(join(d, "usr/lib/git-core/git-0")).ino).toBe(lstatSync(join(d, "usr/bin/git")).ino);
        expect(readFileSync(join(d, "h/link"), "utf8")).toBe("1");
      } },
    { name: "directories replaced by symlinks again and again (descriptors forgotten while in use)", tar: () => craft(
      Array.from({ length: 100 }, (_, n) => [{ h: { name: `t${n % 7}/`, type: "5" as const } }, { h: { name: `x${n % 7}/y/`, type: "5" as const } },
        file(`x${n % 7}/y/f${n}`), { h: { name: `x${n % 7}`, type: "2" as const, linkname: `t${n % 7}` } }, file(`x${n % 7}/z${n}`)]).flat()),
      expect: "contained" },
    { name: "a path over PATH_MAX reached through symlinked parents", tar: () => {
      const deep = Array.from({ length: 1500 }, () => "a").join("/");
      return craft([{ h: { name: "l1", type: "2", linkname: deep } }, { h: { name: "l1/l2", type: "2", linkname: deep } },
        { h: { name: "l1/l2/l3", type: "2", linkname: deep } }, file("l1/l2/l3/f")]);
    }, expect: "refused" },
    { name: "a symlink with no target", tar: () => craft([{ h: { name: "l", type: "2", linkname: "" } }]), expect: "refused" },
    { name: "a symlink whose target has a NUL byte (PAX linkpath)", tar: () => craft([{ h: { name: "l", type: "2", linkname: "x", pax: new Map([["linkpath", Buffer.from("a\0b")]]) } }]), expect: "refused" },
    { name: "a refused hard link makes no directories", tar: () => craft([{ h: { name: "up", type: "2", linkname: outside } }, { h: { name: "h", type: "1", linkname: "up/nothere/passwd" } }]),
      expect: "refused" },
    { name: "overlayfs's own xattrs in a layer are dropped", tar: () => craft([{ h: { name: "a/", type: "5", pax: new Map([["SCHILY.xattr.trusted.overlay.redirect", Buffer.from("/secret")], ["SCHILY.xattr.trusted.overlay.opaque", Buffer.from("y")]]) } }]),
      expect: "contained", check: (d) => expect(execFileSync("getfattr", ["-d", "-m", "-", join(d, "a")]).toString()).not.toContain("overlay") },
    { name: "a path of 5,000 bytes (longer than PATH_MAX: nothing could remove it again)", tar: () => craft([file(`${"deep/".repeat(1000)}end`, "deep")]), expect: "refused" },
    { name: "a path of 3,500 bytes", tar: () => craft([file(`${"deep/".repeat(700)}end`, "deep")]), expect: "contained",
      check: (d) => expect(readdirSync(join(d, "deep/deep/deep"))).toEqual(["deep"]) },
  ];
  it.each(cases)("$name", async ({ tar, expect: outcome, check }) => {
    const dir = join(work, `hostile-${Math.random().toString(36).slice(2)}`);
    const before = treeState(outside);
    const p = applyLayerToNewDir(Readable.from([tar()]), dir);
    if (outcome === "refused") {
      await expect(p).rejects.toSatisfy((e: unknown) => e instanceof UnsafeLayerError || e instanceof TarFormatError || (e as NodeJS.ErrnoException).code === "ENAMETOOLONG");
      expect(existsSync(dir)).toBe(false);
    } else {
      await p;
      check?.(dir);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(treeState(outside)).toBe(before);
    expect(existsSync("/etc/abs") || existsSync("/tmp/pwned2")).toBe(false);
  });
  it("has at least 30 hostile cases", () => expect(cases.length).toBeGreaterThanOrEqual(30));
});

describe("compression", () => {
  it("parallel gzip is one valid multi-member stream", async () => {
    const data = Buffer.concat(Array.from({ length: 40 }, (_, i) => Buffer.alloc(100_000, i)));
    const gz = await toBuffer(async (out) => {
      const s = gzipParallel(Readable.from([data]), { workers: 2, chunkSize: 1 << 20 });
      for await (const c of s) out.write(c);
    });
    expect(execFileSync("gzip", ["-dc"], { input: gz, maxBuffer: 1 << 30 }).equals(data)).toBe(true);
    const viaNode = await toBuffer(async (out) => {
      const g = createGunzip();
      const p = new PassThrough();
      p.end(gz);
      for await (const c of p.pipe(g)) out.write(c);
    });
    expect(viaNode.equals(data)).toBe(true);
  });
  it("parallel gzip runs on one worker thread per core, and its bytes do not depend on the worker count", async () => {
    expect(sharedGzipPool().size).toBe(availableParallelism());
    const data = Buffer.concat(Array.from({ length: 60 }, (_, i) => Buffer.concat([randomBytes(50_000), Buffer.alloc(50_000, i)])));
    const gzipWith = (opts: Parameters<typeof gzipParallel>[1]) =>
      toBuffer(async (out) => {
        for await (const c of gzipParallel(Readable.from([data]), { chunkSize: 256 * 1024, ...opts })) out.write(c);
      });
    const pool = new GzipWorkerPool(3);
    try {
      const one = await gzipWith({ workers: 1, pool });
      expect(pool.threads).toBe(1);
      const three = await gzipWith({ pool });
      expect(pool.threads).toBe(3);
      expect(three.equals(one)).toBe(true);
      expect((await gzipWith({})).equals(one)).toBe(true);
      expect(gunzipSync(one).equals(data)).toBe(true);
    } finally {
      await pool.close();
    }
    expect(pool.threads).toBe(0);
  });
  it("gzip and zstd layers apply, with the same diff id as the plain tar", async () => {
    const plain = await toBuffer((out) => writeLayer(walkDirectory(join(src, "dir")), out));
    for (const compression of ["gzip", "zstd"] as const) {
      let result: Awaited<ReturnType<typeof writeLayer>> | undefined;
      const blob = await toBuffer(async (out) => (result = await writeLayer(walkDirectory(join(src, "dir")), out, { compression })));
      expect(result!.diffId).toBe(sha256Digest(plain));
      expect(result!.digest).toBe(sha256Digest(blob));
      if (compression === "zstd") expect(execFileSync("zstd", ["-dc"], { input: blob }).equals(plain)).toBe(true);
      const dst = join(work, `comp-${compression}`);
      const r = await applyLayerToNewDir(Readable.from([blob]), dst);
      expect(r.diffId).toBe(sha256Digest(plain));
    }
  });
});
