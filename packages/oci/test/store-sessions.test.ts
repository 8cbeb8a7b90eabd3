import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { liveSessions, pidAlive, Store, withFileLock } from "../src/index.js";

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
});
