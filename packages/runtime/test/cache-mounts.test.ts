/**
 * Cache mount directories (cache-mounts.ts) on real files: which cache a mount gets (id, owner,
 * seed), what a new one starts with, the lazy copy of a seed (each path once, never over a run's
 * changes, around the paths copied before), sources inside a cache, private throwaway caches.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, chownSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { cacheName, prepareCache, type CacheMount, type CacheSeed } from "../src/cache-mounts.js";
import { pinnedBind } from "../src/pinned-bind.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cache-mounts-"));
const cacheRoot = join(work, "cache");
const scratch = join(work, "scratch");
const seedRoot = join(work, "seed");
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(() => {
  mkdirSync(scratch, { recursive: true });
  mkdirSync(join(seedRoot, "s/sub"), { recursive: true });
  mkdirSync(join(seedRoot, "other"), { recursive: true });
  writeFileSync(join(seedRoot, "s/file"), "seeded\n");
  writeFileSync(join(seedRoot, "s/sub/deep"), "deep\n");
  writeFileSync(join(seedRoot, "other/o"), "o\n");
  chownSync(join(seedRoot, "s/sub"), 123, 45);
  chmodSync(join(seedRoot, "s/sub"), 0o700);
  symlinkSync("sub", join(seedRoot, "s/link"));
});

/** A seed from a plain directory: copies with cp -a (the engine's seed uses its Copier). */
function seedOf(root: string, identity = "test-seed"): CacheSeed & { copies: string[] } {
  const copies: string[] = [];
  return {
    identity,
    copies,
    async resolve(path: string) {
      let rel = posix.normalize(`/${path}`).replace(/^\/+|\/+$/g, "");
      if (rel !== "" && lstatSync(join(root, rel), { throwIfNoEntry: false })?.isSymbolicLink()) rel = posix.join(posix.dirname(rel), execFileSync("readlink", [join(root, rel)]).toString().trim());
      if (rel !== "" && !existsSync(join(root, rel))) throw new Error(`"/${rel}" not found`);
      return rel;
    },
    async copy(tree: string, rel: string, except: readonly string[]) {
      copies.push(`${rel}|${except.join(",")}`);
      // a copy of `rel` without the paths left out, merged into the tree
      const tmp = mkdtempSync(join(work, "copy-"));
      execFileSync("cp", ["-a", "-T", join(root, rel), join(tmp, "x")]);
      for (const x of except) rmSync(join(tmp, "x", rel === "" ? x : x.slice(rel.length + 1)), { recursive: true, force: true });
      const to = join(tree, rel);
      mkdirSync(posix.dirname(to), { recursive: true });
      execFileSync("cp", ["-a", "-T", join(tmp, "x"), to]);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

const opts = { cacheRoot, scratch };
const mount = (m: Partial<CacheMount>): CacheMount => ({ type: "cache", target: "/c", id: "x", ...m });
const stat = (p: string) => {
  const st = statSync(p);
  return `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
};

describe("which cache a mount gets", () => {
  it("plain caches keep the name they always had; owner and seed make other caches of the same id", () => {
    const names = new Set([
      cacheName(mount({})), cacheName(mount({ uid: 0 })), cacheName(mount({ mode: 0o755, uid: 0, gid: 0 })),
      cacheName(mount({ seed: seedOf(seedRoot) })), cacheName(mount({ seed: seedOf(seedRoot, "other-version") })),
    ]);
    expect(names.size).toBe(4); // uid=0 alone and the defaults written out are one cache, as in BuildKit
    // owners given with a source do nothing (BuildKit makes no directory then)
    expect(cacheName(mount({ source: "/a", uid: 5 }))).toBe(cacheName(mount({})));
  });
  it("BUILDKIT_CACHE_MOUNT_NS: BuildKit's id is namespace + \"/\" + id, one string, for every kind of cache", async () => {
    const seed = seedOf(seedRoot);
    for (const kind of [{}, { uid: 5 }, { seed }]) {
      const m = (namespace: string | undefined, id: string) => cacheName(mount({ ...kind, id, ...(namespace !== undefined ? { namespace } : {}) }));
      // no namespace and an empty one are one: the names caches had before namespaces
      expect(m("", "a/b")).toBe(m(undefined, "a/b"));
      // another namespace, another cache; no namespace is not namespace "a" (BuildKit's "/a/b" and "a/b")
      expect(new Set([m(undefined, "a/b"), m("a", "b"), m("n1", "a/b"), m("n2", "a/b"), m("n1/", "a/b")]).size).toBe(5);
      // the concatenation is what names a cache, as in BuildKit: "a" + "/b/c" is "a/b" + "/c", "" + "/x/y" is "/x" + "/y"
      expect(m("a", "b/c")).toBe(m("a/b", "c"));
      expect(m("/x", "y")).toBe(m(undefined, "x/y"));
      expect(m("/", "x/y")).toBe(m("", "/x/y"));
    }
    // and the directories are apart
    const one = await prepareCache(mount({ id: "ns-apart", namespace: "one" }), opts);
    writeFileSync(join(one.source, "f"), "one\n");
    await one.release();
    const two = await prepareCache(mount({ id: "ns-apart", namespace: "two" }), opts);
    expect(readdirSync(two.source)).toEqual([]);
    await two.release();
    const again = await prepareCache(mount({ id: "ns-apart", namespace: "one" }), opts);
    expect(readFileSync(join(again.source, "f"), "utf8")).toBe("one\n");
    await again.release();
  });
  it("a plain cache is a 0755 root directory; with mode/uid/gid, exactly those (& 0777, whatever the umask)", async () => {
    const a = await prepareCache(mount({ id: "plain" }), opts);
    expect(stat(a.source)).toBe("755 0:0");
    await a.release();
    const b = await prepareCache(mount({ id: "owned", mode: 0o1777, uid: 1000, gid: 7 }), opts);
    expect(stat(b.source)).toBe("777 1000:7");
    await b.release();
  });
  it("source without from is a path of the plain cache: there once a run made it", async () => {
    const m = mount({ id: "with-source", source: "/sub" });
    await expect(prepareCache(m, opts)).rejects.toThrow('cache mount source "/sub" not found in cache "with-source"');
    const plain = await prepareCache(mount({ id: "with-source" }), opts);
    mkdirSync(join(plain.source, "sub"));
    writeFileSync(join(plain.source, "sub/f"), "made by a run\n");
    await plain.release();
    const sub = await prepareCache(m, opts);
    expect(readFileSync(join(sub.source, "f"), "utf8")).toBe("made by a run\n");
    await sub.release();
  });
});

describe("a cache seeded from a stage", () => {
  it("is copied once, with owners, modes and links; what runs change stays", async () => {
    const seed = seedOf(seedRoot, "once");
    const first = await prepareCache(mount({ id: "seeded", source: "/s", seed }), opts);
    expect(readdirSync(first.source).sort()).toEqual(["file", "link", "sub"]);
    expect(stat(join(first.source, "sub"))).toBe("700 123:45");
    expect(lstatSync(join(first.source, "link")).isSymbolicLink()).toBe(true);
    writeFileSync(join(first.source, "file"), "changed\n");
    await first.release();
    const again = await prepareCache(mount({ id: "seeded", source: "/s", seed }), opts);
    expect(readFileSync(join(again.source, "file"), "utf8")).toBe("changed\n");
    await again.release();
    expect(seed.copies).toEqual(["s|"]);
  });
  it("is one tree for every source: a path below one copied is not copied again, one above is copied around it", async () => {
    const seed = seedOf(seedRoot, "tree");
    const s = await prepareCache(mount({ id: "tree", source: "/s", seed }), opts);
    writeFileSync(join(s.source, "new"), "run\n");
    await s.release();
    // below /s: the cache's own (symlink followed in the seed: s/link is s/sub)
    const below = await prepareCache(mount({ id: "tree", source: "/s/link", seed }), opts);
    expect(readdirSync(below.source)).toEqual(["deep"]);
    await below.release();
    // the root: everything else is copied, /s is left as the runs left it
    const all = await prepareCache(mount({ id: "tree", seed }), opts);
    expect(readdirSync(all.source).sort()).toEqual(["other", "s"]);
    expect(readFileSync(join(all.source, "s/new"), "utf8")).toBe("run\n");
    await all.release();
    expect(seed.copies).toEqual(["s|", "|s"]);
    // a missing source is the seed's error
    await expect(prepareCache(mount({ id: "tree", source: "/nope", seed }), opts)).rejects.toThrow('"/nope" not found');
  });
  it("with mode/uid/gid and no source: the seed's /cache, or one made with that owner", async () => {
    const seed = seedOf(seedRoot, "owner");
    const made = await prepareCache(mount({ id: "owner", mode: 0o700, uid: 77, seed }), opts);
    expect(stat(made.source)).toBe("700 77:0");
    expect(existsSync(join(cacheRoot, cacheName(mount({ id: "owner", mode: 0o700, uid: 77, seed })), "tree/cache"))).toBe(true);
    expect(readdirSync(made.source)).toEqual([]);
    await made.release();
    expect(seed.copies).toEqual([]);
  });
  it("private while in use: a cache of the run's own, seeded afresh and dropped after", async () => {
    const seed = seedOf(seedRoot, "private");
    const m = mount({ id: "private", source: "/s", seed, sharing: "private" });
    const held = await prepareCache(m, opts);
    writeFileSync(join(held.source, "held"), "1\n");
    const own = await prepareCache(m, opts);
    expect(readdirSync(own.source).sort()).toEqual(["file", "link", "sub"]);
    expect(readdirSync(scratch).some((n) => n.startsWith(`cache-${cacheName(m)}-`))).toBe(true);
    await own.release();
    expect(existsSync(own.source)).toBe(false);
    expect(readdirSync(scratch).some((n) => n.startsWith(`cache-${cacheName(m)}-`))).toBe(false);
    await held.release();
    const back = await prepareCache(m, opts);
    expect(readdirSync(back.source).sort()).toEqual(["file", "held", "link", "sub"]);
    await back.release();
  });
});

describe("a path below a cache is bound as what it is, not as a path", () => {
  const mounted = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes(work));
  it("binds the entry through its descriptor, and is gone after release", async () => {
    const tree = join(work, "pin-tree");
    mkdirSync(join(tree, "a/b"), { recursive: true });
    writeFileSync(join(tree, "a/b/f"), "pinned\n");
    writeFileSync(join(tree, "a/file"), "a file\n");
    const dir = await pinnedBind(tree, "a/b", scratch);
    const file = await pinnedBind(tree, "a/file", scratch);
    expect(readFileSync(join(dir.path, "f"), "utf8")).toBe("pinned\n");
    expect(readFileSync(file.path, "utf8")).toBe("a file\n");
    // what a concurrent RUN would do: the directory renamed away and a symlink put in its place
    execFileSync("sh", ["-c", `mv ${tree}/a/b ${tree}/a/moved && ln -s /etc ${tree}/a/b`]);
    expect(readFileSync(join(dir.path, "f"), "utf8")).toBe("pinned\n"); // still the cache's directory
    await dir.release();
    await file.release();
    expect(mounted()).toEqual([]);
    expect(readdirSync(scratch).filter((n) => n.startsWith("pinned-"))).toEqual([]);
  });
  it("refuses a path through a symlink (what a swap between resolving and binding leaves)", async () => {
    const tree = join(work, "pin-swapped");
    mkdirSync(tree, { recursive: true });
    symlinkSync("/etc", join(tree, "link"));
    await expect(pinnedBind(tree, "link/passwd", scratch)).rejects.toThrow("no longer there");
    await expect(pinnedBind(tree, "link", scratch)).rejects.toThrow("neither a directory nor a file");
    expect(mounted()).toEqual([]);
  });
});
