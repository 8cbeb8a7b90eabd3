import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";
import { freeRange as freeSubidRange, processesOfIds, setSubids as setUserSubids } from "../../../fixtures/support/subids.js";

/**
 * Rootless builds (issue 19): `tsbuild` run by a user made here (tsbuild-rl-test, with its own
 * subordinate id range) builds in a user namespace it makes itself. The fixtures build to the same
 * image ids as a root build (SOURCE_DATE_EPOCH), RUN stays in its snapshot, a killed build leaves
 * no process and no mount, and du/prune/store check work on the user's store. Skipped (with a
 * message) where the user namespace cannot be made: not root, no newuidmap, user namespaces off.
 */
const USER = "tsbuild-rl-test";
const RANGE = 65536;
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(repo, "packages/cli/bin/tsbuild.js");
const EPOCH = "1700000000";
const CASES = ["copy-modes-owners", "run-mount-cache-owner", "workdir-user-relative", "heredoc-run-forms", "run-mount-bind"];

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "the test makes a user: run it as root";
  for (const t of ["newuidmap", "newgidmap", "useradd", "setpriv"]) if (spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0) return `${t} is missing (apt-get install uidmap)`;
  const max = Number(readFileSync("/proc/sys/user/max_user_namespaces", "utf8").trim());
  if (!(max > 0)) return "user namespaces are disabled (user.max_user_namespaces is 0)";
  if (existsSync("/proc/sys/kernel/unprivileged_userns_clone") && readFileSync("/proc/sys/kernel/unprivileged_userns_clone", "utf8").trim() === "0") return "unprivileged user namespaces are disabled";
  return undefined;
}
const skip = skipReason();
if (skip) console.warn(`skipping the rootless tests: ${skip}`);

const work = mkdtempSync(join(tmpdir(), "tsbuild-rl-test-"));
const home = join(work, "home");
const userStore = join(home, ".local/share/tsbuild");
const rootStore = join(work, "root-store");
let uid = -1;
let gid = -1;
let subStart = 0;
const started: ChildProcess[] = [];

const setSubids = (start?: number) => setUserSubids(USER, RANGE, start);
const freeRange = () => freeSubidRange(RANGE, 300_000_000);

const userEnv = (extra: Record<string, string> = {}) => [`HOME=${home}`, `PATH=${process.env.PATH ?? "/usr/bin:/bin"}`, `SOURCE_DATE_EPOCH=${EPOCH}`, ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)];
const asUser = (args: string[], extra: Record<string, string> = {}) =>
  ["setpriv", ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "--", "env", "-i", ...userEnv(extra), process.execPath, bin, ...args]] as const;

/** `tsbuild ARGS` as the user (its own store), or as root on the root store. */
function tsbuildAs(user: boolean, args: string[], cwd = work): { code: number | null; out: string; err: string } {
  const [cmd, argv] = user ? asUser(args) : [process.execPath, [bin, args[0] as string, "--root", rootStore, ...args.slice(1)]];
  const r = spawnSync(cmd, argv, { cwd, encoding: "utf8", env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH }, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function buildBoth(ctx: string, extra: string[] = []): { root: string; rootless: string } {
  const ids: string[] = [];
  for (const user of [false, true]) {
    const iid = join(user ? home : work, `iid-${user ? "rl" : "root"}-${Math.random().toString(36).slice(2)}`);
    const r = tsbuildAs(user, ["build", "--progress=plain", "--iidfile", iid, ...extra, ctx]);
    expect(r.code, `${user ? "rootless" : "root"} build of ${ctx}: ${r.err}`).toBe(0);
    ids.push(readFileSync(iid, "utf8").trim());
    if (user) chmodSync(iid, 0o644);
  }
  return { root: ids[0] as string, rootless: ids[1] as string };
}

/** Processes whose real uid is the user's or one of its subordinate ids. */
const userProcesses = () => processesOfIds(uid, subStart, RANGE);

const mountsOf = (dir: string) => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => (l.split(" ")[4] ?? "").startsWith(dir));
const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return what();
}

beforeAll(async () => {
  if (skip) return;
  chmodSync(work, 0o755);
  spawnSync("userdel", [USER]); // one a killed earlier run left
  execFileSync("useradd", ["-M", "-d", home, "-s", "/bin/sh", USER]);
  uid = Number(execFileSync("id", ["-u", USER], { encoding: "utf8" }).trim());
  gid = Number(execFileSync("id", ["-g", USER], { encoding: "utf8" }).trim());
  setSubids(); // useradd may have given it a range: ours instead
  subStart = freeRange();
  setSubids(subStart);
  // the same base image (fixed created time) in both stores; the user's made as root, then given to it
  const tar = busyboxTar(makeBusyboxRootfs(join(work, "rootfs"), { extraUsers: true }));
  for (const store of [rootStore, userStore]) {
    await storeBaseImage(store, "localhost:5000/busybox:latest", tar);
    await storeBaseImage(store, "busybox:demo", tar);
  }
  // a base with a device node (BuildKit rootless skips devices when it unpacks a layer)
  const devRoot = makeBusyboxRootfs(join(work, "devfs"));
  execFileSync("mknod", [join(devRoot, "cdev"), "c", "1", "3"]);
  const devTar = busyboxTar(devRoot);
  for (const store of [rootStore, userStore]) await storeBaseImage(store, "devbase:1", devTar);
  execFileSync("chown", ["-R", `${uid}:${gid}`, home]);
  // contexts the user can read: copies of the cases and the demo
  const ctxs = join(work, "ctx");
  for (const c of CASES) cpSync(join(repo, "fixtures/cases", c), join(ctxs, c), { recursive: true });
  cpSync(join(repo, "fixtures/demo"), join(ctxs, "demo"), { recursive: true });
  mkdirSync(join(ctxs, "owners"), { recursive: true });
  writeFileSync(join(ctxs, "owners/hello.txt"), "hello\n");
  writeFileSync(join(ctxs, "owners/Dockerfile"), [
    "FROM localhost:5000/busybox:latest",
    "COPY --chown=1000:1000 hello.txt /home/app/hello.txt",
    // an owner, a setuid bit, an opaque directory, a whiteout, a file of the highest usual id
    "RUN mkdir -p /data && echo hi > /data/f && chown 1000:50 /data/f && chmod 4755 /data/f && rm -rf /tmp && mkdir -m 1777 /tmp && touch /tmp/new && chown 65534:65534 /tmp/new && rm /etc/group",
    "USER app",
    "RUN id > /tmp/id-app && touch /tmp/by-app",
    "USER root",
    "RUN ln -s /data/f /link && mkfifo /fifo",
  ].join("\n"));
  execFileSync("chmod", ["-R", "a+rX", ctxs]);
  // the worktree must be readable by the user (the CLI runs from it)
  const r = spawnSync("setpriv", ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "--", "test", "-r", bin]);
  if (r.status !== 0) throw new Error(`${USER} cannot read ${bin}: the worktree must be readable by other users`);
}, 120_000);

afterAll(() => {
  for (const c of started) if (c.pid && c.exitCode === null) c.kill("SIGKILL");
  if (!skip) {
    for (const p of userProcesses()) spawnSync("kill", ["-9", String(p)]);
    spawnSync("userdel", [USER]);
    setSubids();
  }
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skip !== undefined)("rootless builds", () => {
  it("info: rootless, the user namespace's maps and the overlay snapshotter with userxattr", () => {
    const r = tsbuildAs(true, ["info", "--format", "json"]);
    expect(r.code, r.err + r.out).toBe(0);
    const info = JSON.parse(r.out) as { store: { root: string }; user: { uid: number; mode: string; uidMap: unknown[] }; snapshotter: { kind: string; why: string } };
    expect(info.store.root).toBe(userStore);
    expect(info.user).toMatchObject({ uid, mode: "rootless", uidMap: [{ inside: 0, outside: uid, count: 1 }, { inside: 1, outside: subStart, count: RANGE }] });
    expect(info.snapshotter.kind).toBe("overlay");
    expect(info.snapshotter.why).toContain("userxattr");
  });

  it.each(CASES)("%s: the same image as a root build", (name) => {
    const { root, rootless } = buildBoth(join(work, "ctx", name));
    expect(rootless).toBe(root);
  }, 120_000);

  it("the demo and an owners fixture: the same images; owners, setuid, whiteouts as root makes them; progress says rootless", () => {
    const demo = buildBoth(join(work, "ctx", "demo"));
    expect(demo.rootless).toBe(demo.root);
    const owners = buildBoth(join(work, "ctx", "owners"), ["-t", "owners:1"]);
    expect(owners.rootless).toBe(owners.root);
    const again = tsbuildAs(true, ["build", "--progress=plain", join(work, "ctx", "owners")]);
    expect(again.err).toMatch(/rootless \(user namespace\); snapshotter overlay: .*userxattr/);
    // the copy snapshotter (where overlayfs does not mount) makes the image a root build with it makes
    const copy = buildBoth(join(work, "ctx", "owners"), ["--snapshotter", "copy", "--no-cache"]);
    expect(copy.rootless).toBe(copy.root);
    const told = tsbuildAs(true, ["build", "--progress=plain", "--snapshotter", "copy", join(work, "ctx", "owners")]);
    expect(told.err).toContain("rootless (user namespace); snapshotter copy: asked for");
    // on disk, the user's store is the user's; files of the image's other ids are subordinate ids (as podman's)
    const foreign: string[] = [];
    const walk = (dir: string, rel: string) => {
      for (const n of readdirSync(dir)) {
        const p = join(dir, n);
        const r = rel ? `${rel}/${n}` : n;
        const st = lstatSync(p);
        const inTree = /^snapshots\/(overlay|copy)\/c\/[0-9a-f]+\/fs(\/|$)/.test(r) || r.startsWith("cache/mounts/");
        if (!inTree && st.uid !== uid) foreign.push(`${r} ${st.uid}`);
        if (inTree && st.uid !== uid && !(st.uid >= subStart && st.uid < subStart + RANGE)) foreign.push(`${r} ${st.uid}`);
        if (st.isDirectory() && !r.endsWith("/work")) walk(p, r);
      }
    };
    walk(userStore, "");
    expect(foreign).toEqual([]);
  }, 180_000);

  it("RUN: mknod refused, a base image's device node skipped (as BuildKit rootless), /sys read-only and nothing written outside the snapshot", () => {
    const dir = join(work, "ctx", "devices");
    mkdirSync(dir, { recursive: true });
    const escape = `tsbuild-rl-escape-${process.pid}`;
    writeFileSync(join(dir, "Dockerfile"), [
      "FROM devbase:1",
      "RUN test ! -e /cdev && echo no-device",
      `RUN touch /${escape} && ! touch /sys/x 2>/dev/null && ! touch /etc/hosts 2>/dev/null && echo contained`,
    ].join("\n"));
    writeFileSync(join(dir, "mknod.Dockerfile"), "FROM devbase:1\nRUN mknod /null2 c 1 3\n");
    chmodSync(dir, 0o755);
    execFileSync("chmod", ["a+r", join(dir, "Dockerfile"), join(dir, "mknod.Dockerfile")]);
    const ok = tsbuildAs(true, ["build", "--progress=plain", "--no-cache", dir]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.err).toContain("no-device");
    expect(ok.err).toContain("contained");
    // the file is in the store's snapshot and nowhere else on the host
    const found = execFileSync("find", ["/tmp", "/home", "/root", "/var", "-xdev", "-name", escape], { encoding: "utf8" }).split("\n").filter(Boolean);
    expect(found.length).toBeGreaterThan(0);
    for (const f of found) expect(f.startsWith(join(userStore, "snapshots/"))).toBe(true);
    const root = tsbuildAs(false, ["build", "--progress=plain", "-f", join(dir, "Dockerfile"), dir]);
    expect(root.code).toBe(1); // as root the device is there
    const mk = tsbuildAs(true, ["build", "--progress=plain", "-f", join(dir, "mknod.Dockerfile"), dir]);
    expect(mk.code).toBe(1);
    expect(mk.err).toMatch(/mknod.*(Operation not permitted|Permission denied)/);
  }, 120_000);

  it.each(["the tsbuild process", "the namespace's first process"])("a rootless build killed (SIGKILL to %s) leaves no process and no mount; the next build sweeps the rest", async (which) => {
    const dir = join(work, "ctx", "slow");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "Dockerfile"), "FROM localhost:5000/busybox:latest\nRUN echo sleeping-now && sleep 60\n");
    execFileSync("chmod", ["-R", "a+rX", dir]);
    const [cmd, argv] = asUser(["build", "--progress=plain", "--no-cache", dir]);
    const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"] });
    started.push(child);
    let err = "";
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    expect(await until(() => err.includes("#2 sleeping-now") || err.includes("sleeping-now"), 60_000), err).toBe(true);
    const before = userProcesses();
    expect(before.length).toBeGreaterThanOrEqual(3); // tsbuild, unshare, tsbuild inside (runc, the RUN's processes)
    if (which === "the tsbuild process") child.kill("SIGKILL");
    else {
      // pid 1 of the build's pid namespace: the node process whose NSpid says 1
      const init = before.find((p) => /^NSpid:\s+\d+\s+1$/m.test(readFileSync(`/proc/${p}/status`, "utf8")));
      expect(init).toBeDefined();
      process.kill(init as number, "SIGKILL");
    }
    expect(await until(() => userProcesses().length === 0, 20_000), `left: ${userProcesses().join(" ")}`).toBe(true);
    expect(mountsOf(userStore)).toEqual([]);
    const next = tsbuildAs(true, ["build", "--progress=plain", join(work, "ctx", "owners")]);
    expect(next.code, next.err).toBe(0);
    expect(ls(join(userStore, "tmp"))).toEqual([]);
    expect(ls(join(userStore, "snapshots/overlay/a"))).toEqual([]);
    expect(ls(join(userStore, "runc"))).toEqual([]);
    expect(ls(join(userStore, "locks/sessions"))).toEqual([]);
    child.stderr?.destroy();
  }, 120_000);

  it("du, store check and prune work on the user's store (prune removes the subordinate ids' files)", () => {
    const du = tsbuildAs(true, ["du"]);
    expect(du.code, du.err).toBe(0);
    const check = tsbuildAs(true, ["store", "check"]);
    expect(check.code, check.err + check.out).toBe(0);
    const before = ls(join(userStore, "snapshots/overlay/c")).length;
    const prune = tsbuildAs(true, ["prune", "--all"]);
    expect(prune.code, prune.err + prune.out).toBe(0);
    expect(ls(join(userStore, "snapshots/overlay/c")).length).toBeLessThan(before);
    // with no image named, nothing is kept: every snapshot goes, files of subordinate ids too
    const rmi = tsbuildAs(true, ["rmi", "owners:1", "localhost:5000/busybox:latest", "busybox:demo", "devbase:1"]);
    expect(rmi.code, rmi.err).toBe(0);
    const all = tsbuildAs(true, ["prune", "--all"]);
    expect(all.code, all.err + all.out).toBe(0);
    expect(ls(join(userStore, "snapshots/overlay/c"))).toEqual([]);
    const after = tsbuildAs(true, ["store", "check"]);
    expect(after.code, after.err + after.out).toBe(0);
  }, 120_000);

  it("the library: build() as the user outside a namespace is refused with NeedsUserNamespaceError", () => {
    const script = join(work, "lib.mjs");
    writeFileSync(script, `import { build } from ${JSON.stringify(join(repo, "packages/engine/dist/index.js"))};\ntry { await build({ context: "." }); } catch (e) { console.log(e.name + ": " + e.message); }\n`);
    chmodSync(script, 0o644);
    const r = spawnSync("setpriv", ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "--", "env", "-i", ...userEnv(), process.execPath, script], { cwd: work, encoding: "utf8" });
    expect(r.stdout).toMatch(/^NeedsUserNamespaceError: build\(\) runs as root or as root of a user namespace/);
  });
});

