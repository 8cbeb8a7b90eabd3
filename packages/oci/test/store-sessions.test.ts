import { afterAll, describe, expect, it } from "vitest";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { acquireFileLock, liveSessions, pidAlive, Store, withFileLock } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-sessions-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function deadPid(): number {
  let pid = 4_000_000;
  while (pidAlive(pid)) pid++;
  return pid;
}

describe("locks and sessions", () => {
  it("a lock whose owner pid is dead is taken over at once; a live owner is waited for", async () => {
    const dir = join(work, "locks");
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, "x.lock");
    writeFileSync(lock, String(deadPid()));
    const t = Date.now();
    expect(await withFileLock(lock, async () => "got it")).toBe("got it");
    expect(Date.now() - t).toBeLessThan(1000);
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, String(process.pid)); // alive and older than staleMs: still not stolen
    utimesSync(lock, new Date(0), new Date(0));
    await expect(withFileLock(lock, async () => "stolen", { staleMs: 10, timeoutMs: 300 })).rejects.toThrow(/timed out waiting for lock .*held by pid/);
    rmSync(lock);
  });

  it("a lock naming a live pid that started at another time (the pid used again) is taken over; waiting stops on abort", async () => {
    const dir = join(work, "reused");
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, "x.lock");
    writeFileSync(lock, `${process.pid} 1`); // our pid, but not our start time: a killed process's lock
    expect(await withFileLock(lock, async () => "taken over")).toBe("taken over");
    await withFileLock(lock, async () => {
      expect(readFileSync(lock, "utf8")).toMatch(new RegExp(`^${process.pid} \\d+$`));
      // a live owner (ourselves): a waiter with a signal stops when it aborts, without the lock
      const ac = new AbortController();
      const waiting = acquireFileLock(lock, { timeoutMs: Infinity, signal: ac.signal });
      setTimeout(() => ac.abort(new Error("interrupted")), 100);
      await expect(waiting).rejects.toThrow(/interrupted/);
      expect(existsSync(lock)).toBe(true);
    });
    expect(existsSync(lock)).toBe(false);
  });

  it("waiters that all find a dead owner's lock take it over one at a time (no one removes another's fresh lock)", async () => {
    const dir = join(work, "race");
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, "x.lock");
    const log = join(dir, "log");
    // each process waits for the same moment, then takes the lock and logs entering and leaving it
    const child = join(dir, "child.mjs");
    writeFileSync(child, [
      `import { withFileLock } from ${JSON.stringify(new URL("../dist/lock.js", import.meta.url).pathname)};`,
      `import { appendFileSync } from "node:fs";`,
      `const [lock, log, go] = process.argv.slice(2);`,
      `while (Date.now() < Number(go)) {}`,
      `await withFileLock(lock, async () => { appendFileSync(log, "in\\n"); await new Promise((r) => setTimeout(r, 30)); appendFileSync(log, "out\\n"); });`,
    ].join("\n"));
    for (let round = 0; round < 4; round++) {
      writeFileSync(lock, String(deadPid()));
      writeFileSync(log, "");
      const go = Date.now() + 500;
      const codes = await Promise.all(Array.from({ length: 6 }, () => new Promise<number | null>((done) => {
        spawn(process.execPath, [child, lock, log, String(go)], { stdio: "inherit" }).on("close", done);
      })));
      expect(codes).toEqual([0, 0, 0, 0, 0, 0]);
      let inside = 0;
      for (const line of readFileSync(log, "utf8").split("\n").filter(Boolean)) {
        inside += line === "in" ? 1 : -1;
        expect(inside).toBeLessThanOrEqual(1);
      }
      expect(existsSync(lock)).toBe(false);
      expect(existsSync(`${lock}.break`)).toBe(false);
    }
  }, 30_000);

  it("a session protects what it holds until it ends; a dead pid's session protects nothing", async () => {
    const store = await Store.open(join(work, "store"));
    const old = await store.content.putBytes("written before any build");
    utimesSync(store.content.blobPath(old.digest), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const held = await store.content.putBytes("reused from the cache");
    utimesSync(store.content.blobPath(held.digest), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const session = await store.startSession("build");
    await session.hold({ digests: [held.digest], snapshots: ["chain-1"] });
    const fresh = await store.content.putBytes("a layer the build just wrote");
    const sessions = await liveSessions(store.root);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ pid: process.pid, kind: "build", digests: [held.digest], snapshots: ["chain-1"] });
    const since = Date.parse(sessions[0]!.started) - 5000;
    const removed = await store.withGcLock(() => store.gc({ keep: sessions[0]!.digests, keepWrittenSince: since }));
    expect(removed.map((b) => b.digest)).toEqual([old.digest]);
    expect(await store.content.has(fresh.digest)).toBe(true);
    await session.end();
    expect(await liveSessions(store.root)).toEqual([]);

    writeFileSync(join(store.root, "locks", "sessions", `${deadPid()}-abc.json`), JSON.stringify({ pid: deadPid(), started: new Date().toISOString(), kind: "build", digests: [fresh.digest], snapshots: [] }));
    expect(await liveSessions(store.root)).toEqual([]);
    await liveSessions(store.root, true);
    expect(readdirSync(join(store.root, "locks", "sessions"))).toEqual([]);
  });

  it("holds are appended to the session file (no rewrite, no fsync) and read back together; a half-written last line is skipped", async () => {
    const store = await Store.open(join(work, "store-append"));
    const session = await store.startSession("build");
    const a = await store.content.putBytes("a");
    const b = await store.content.putBytes("b");
    await session.hold({ digests: [a.digest] });
    await session.hold({ digests: [a.digest, b.digest], snapshots: ["s1"] }); // a is held already: only b is added
    await session.hold({ snapshots: ["s1"] }); // nothing new: nothing written
    const [file] = readdirSync(join(store.root, "locks", "sessions"));
    const path = join(store.root, "locks", "sessions", file!);
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0]!)).toMatchObject({ pid: process.pid, kind: "build" });
    appendFileSync(path, '{"digests":["sha256:'); // a reader without the gc lock may see a line being written
    const [rec] = await liveSessions(store.root);
    expect(rec).toMatchObject({ pid: process.pid, digests: [a.digest, b.digest], snapshots: ["s1"] });
    // the file removed under it (a prune that could not read it): the next hold writes it again whole
    rmSync(path);
    await session.hold({ snapshots: ["s2"] });
    const [again] = await liveSessions(store.root);
    expect(again).toMatchObject({ pid: process.pid, kind: "build", digests: [a.digest, b.digest], snapshots: ["s1", "s2"] });
    await session.end();
  });
});

describe("writing what the store has already", () => {
  it("putBytes of an existing blob touches it instead of rewriting it; a different expected digest still fails", async () => {
    const store = await Store.open(join(work, "store-dedupe"));
    const first = await store.content.putBytes("config bytes");
    const path = store.content.blobPath(first.digest);
    utimesSync(path, new Date(0), new Date(0));
    const ino = statSync(path).ino;
    expect(await store.content.putBytes("config bytes", { digest: first.digest, size: first.size })).toEqual(first);
    expect(statSync(path).ino).toBe(ino); // not replaced by a new file
    expect(statSync(path).mtimeMs).toBeGreaterThan(Date.now() - 60_000); // but fresh for prune's "written since"
    await expect(store.content.putBytes("config bytes", { digest: `sha256:${"0".repeat(64)}` })).rejects.toThrow(/digest/i);
  });

  it("tagging the same image again leaves the name file alone; another image replaces the name", async () => {
    const store = await Store.open(join(work, "store-tags"));
    const one = await store.content.putBytes("one");
    const two = await store.content.putBytes("two");
    const desc = (d: typeof one) => ({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d.digest, size: d.size });
    await store.images.put("app:1", desc(one));
    const index = join(store.root, "refs", "index.json");
    const before = readFileSync(index, "utf8");
    const ino = statSync(index).ino;
    await store.images.put("app:1", desc(one));
    expect(statSync(index).ino).toBe(ino);
    expect(readFileSync(index, "utf8")).toBe(before);
    await store.images.put("app:1", desc(two));
    expect((await store.images.get("app:1"))?.target.digest).toBe(two.digest);
  });
});
