import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";
import { freeRange as freeSubidRange, processesOfIds, setSubids as setUserSubids } from "../../../fixtures/support/subids.js";

/**
 * tsbuild inside an unprivileged pod (issue 19), simulated without Docker: a user made here
 * (tsbuild-pod-test) runs tsbuild
 * - in a mount namespace whose /proc has Docker's masks (a bind over /proc/keys, /proc/sys
 *   read-only): the kernel then refuses a new procfs in a nested user namespace, and RUN shares the
 *   pid namespace with /proc bound (BuildKit's no-process-sandbox);
 * - without subordinate ids: the user alone is mapped (as 0), and a RUN that chowns to another id
 *   fails, saying so;
 * - in a user namespace where user.max_user_namespaces is 0 (a per-namespace sysctl): no namespace
 *   can be made, and the build is refused with what the pod needs; root there without
 *   CAP_SYS_ADMIN builds with --isolation=chroot.
 * Where isolation allows, the images are a root build's (SOURCE_DATE_EPOCH).
 */
const USER = "tsbuild-pod-test";
const RANGE = 65536;
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(repo, "packages/cli/bin/tsbuild.js");
const EPOCH = "1700000000";

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "the test makes a user: run it as root";
  for (const t of ["newuidmap", "newgidmap", "useradd", "setpriv", "unshare"]) if (spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0) return `${t} is missing`;
  const max = Number(readFileSync("/proc/sys/user/max_user_namespaces", "utf8").trim());
  if (!(max > 0)) return "user namespaces are disabled (user.max_user_namespaces is 0)";
  if (!existsSync("/proc/keys")) return "no /proc/keys to mask";
  if (process.arch !== "x64" || spawnSync("python3", ["-c", "1"]).status !== 0) return "the seccomp filter is written for x86_64, by python3";
  return undefined;
}
const skip = skipReason();
if (skip) console.warn(`skipping the unprivileged pod tests: ${skip}`);

const work = mkdtempSync(join(tmpdir(), "tsbuild-pod-test-"));
const home = join(work, "home");
const userStore = join(home, ".local/share/tsbuild");
const rootStore = join(work, "root-store");
const chrootStore = join(work, "chroot-store");
const ctxs = join(work, "ctx");
let uid = -1;
let gid = -1;
let subStart = 0;

const setSubids = (start?: number) => setUserSubids(USER, RANGE, start);
const freeRange = () => freeSubidRange(RANGE, 400_000_000);

/**
 * Docker's /proc masks, in a mount namespace of its own (gone with the process); any other procfs
 * mount on the machine (another test's) is unmounted there first, as the kernel would take a fully
 * visible one as leave to mount another.
 */
const MASKED = "grep ' - proc ' /proc/self/mountinfo | cut -d' ' -f5 | grep -vx /proc | xargs -r -n1 umount -l; mount --bind /dev/null /proc/keys && mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys /proc/sys && exec \"$@\"";

/**
 * A user namespace (ids 0-65535 as the host's, this process root of it) where no user namespace
 * can be made: user.max_user_namespaces 0 there. The maps are written from outside, as newuidmap
 * would refuse root a range it has none of in /etc/subuid.
 */
function nestedNoUserns(): string {
  const script = join(work, "no-userns.sh");
  writeFileSync(script, [
    "#!/bin/sh",
    'd=$(mktemp -d /tmp/tsbuild-pod-ns-XXXXXX); mkfifo "$d/ready" "$d/go"',
    // the shell execs again once mapped: a process exec'd while its uid was unmapped has no capabilities in the namespace
    `unshare --user --mount --propagation private -- sh -c 'echo > "$0/ready"; read x < "$0/go"; exec sh -c "echo 0 > /proc/sys/user/max_user_namespaces || exit 99; exec \\"\\$@\\"" sh "$@"' "$d" "$@" &`,
    "pid=$!",
    'read x < "$d/ready"',
    'echo "0 0 65536" > /proc/$pid/uid_map && echo "0 0 65536" > /proc/$pid/gid_map',
    'echo go > "$d/go"',
    'wait $pid; rc=$?; rm -rf "$d"; exit $rc',
  ].join("\n") + "\n");
  chmodSync(script, 0o755);
  return script;
}

type Where = "masked" | "no-userns" | "seccomp" | "plain";
/** Docker's default seccomp rules for a process without CAP_SYS_ADMIN: unshare and clone(CLONE_NEWUSER) refused (x86_64) */
const SECCOMP = join(repo, "fixtures/support/seccomp-deny-userns.py");
const userEnv = () => [`HOME=${home}`, `PATH=${process.env.PATH ?? "/usr/bin:/bin"}`, `SOURCE_DATE_EPOCH=${EPOCH}`];

/** `tsbuild ARGS` as the user, in the simulated pod. */
function asUser(where: Where, args: string[]): { code: number | null; out: string; err: string } {
  const user = ["setpriv", "--reuid", String(uid), "--regid", String(gid), "--init-groups", "--", "env", "-i", ...userEnv(), process.execPath, bin, ...args];
  const argv = where === "masked" ? ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", MASKED, "sh", ...user]
    : where === "no-userns" ? [nestedNoUserns(), ...user] : where === "seccomp" ? ["python3", SECCOMP, ...user] : user;
  const r = spawnSync(argv[0] as string, argv.slice(1), { cwd: work, encoding: "utf8", maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `tsbuild ARGS` as root of a user namespace without CAP_SYS_ADMIN where no user namespace can be made (root in a pod with default capabilities and seccomp). */
function asPodRoot(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(nestedNoUserns(), ["setpriv", "--bounding-set=-sys_admin", "--", "env", "-i", `PATH=${process.env.PATH ?? "/usr/bin:/bin"}`, `SOURCE_DATE_EPOCH=${EPOCH}`, process.execPath, bin, ...args],
    { cwd: work, encoding: "utf8", maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function asRoot(store: string, args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, args[0] as string, "--root", store, ...args.slice(1)], { cwd: work, encoding: "utf8", env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH }, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function iidOf(dir: string): string {
  return readFileSync(dir, "utf8").trim();
}

/** Root's image id of a context (built once per context). */
const rootIds = new Map<string, string>();
function rootBuild(ctx: string): string {
  const known = rootIds.get(ctx);
  if (known) return known;
  const iid = join(work, `iid-root-${rootIds.size}`);
  const r = asRoot(rootStore, ["build", "--progress=plain", "--iidfile", iid, join(ctxs, ctx)]);
  expect(r.code, r.err).toBe(0);
  rootIds.set(ctx, iidOf(iid));
  return iidOf(iid);
}

function userBuild(where: Where, ctx: string, extra: string[] = []): { code: number | null; err: string; iid?: string } {
  const iid = join(home, `iid-${Math.random().toString(36).slice(2)}`);
  const r = asUser(where, ["build", "--progress=plain", "--iidfile", iid, ...extra, join(ctxs, ctx)]);
  return { code: r.code, err: r.err, ...(existsSync(iid) ? { iid: iidOf(iid) } : {}) };
}

/** Processes whose real uid is the user's or one of its subordinate ids. */
const userProcesses = () => processesOfIds(uid, subStart, RANGE);

beforeAll(async () => {
  if (skip) return;
  chmodSync(work, 0o755);
  spawnSync("userdel", [USER]);
  execFileSync("useradd", ["-M", "-d", home, "-s", "/bin/sh", USER]);
  uid = Number(execFileSync("id", ["-u", USER], { encoding: "utf8" }).trim());
  gid = Number(execFileSync("id", ["-g", USER], { encoding: "utf8" }).trim());
  if (uid >= RANGE || gid >= RANGE) throw new Error(`${USER} got uid ${uid}: the nested namespace maps 0-65535 only`);
  setSubids();
  subStart = freeRange();
  setSubids(subStart);
  const tar = busyboxTar(makeBusyboxRootfs(join(work, "rootfs")));
  for (const store of [rootStore, userStore, chrootStore]) await storeBaseImage(store, "localhost:5000/busybox:latest", tar);
  execFileSync("chown", ["-R", `${uid}:${gid}`, home]);
  const ctx = (name: string, lines: string[]) => {
    mkdirSync(join(ctxs, name), { recursive: true });
    writeFileSync(join(ctxs, name, "Dockerfile"), lines.join("\n") + "\n");
  };
  // root-owned files only: it builds where the user alone is mapped too
  ctx("plain", [
    "FROM localhost:5000/busybox:latest",
    "WORKDIR /app",
    "RUN echo hello > hello.txt && mkdir -p /data && chmod 0750 /data && echo \"pid $$\" && ls /proc/1 > /dev/null && echo proc-ok",
    "COPY Dockerfile /app/",
    "RUN rm /etc/group && ln -s /app/hello.txt /link",
  ]);
  ctx("chown", ["FROM localhost:5000/busybox:latest", "RUN touch /f && chown 1000:1000 /f"]);
  ctx("copy-chown", ["FROM localhost:5000/busybox:latest", "COPY --chown=1000:1000 Dockerfile /f"]);
  ctx("chroot", [
    "FROM localhost:5000/busybox:latest",
    "WORKDIR /app",
    "RUN echo hello > hello.txt && id -u > /uid && pwd > /pwd && echo \"pid $$\"",
    "USER nobody",
    "RUN id -u > /tmp/nobody",
  ]);
  ctx("no-run", ["FROM localhost:5000/busybox:latest", "COPY Dockerfile /f", "WORKDIR /w"]);
  ctx("chroot-dev", ["FROM localhost:5000/busybox:latest", "RUN test -c /dev/null && echo x > /dev/null && test ! -e /dev/sda && echo dev-ok"]);
  ctx("chroot-mount", ["FROM localhost:5000/busybox:latest", "RUN --mount=type=tmpfs,target=/t true"]);
  cpSync(join(repo, "fixtures/cases/copy-modes-owners"), join(ctxs, "copy-modes-owners"), { recursive: true });
  execFileSync("chmod", ["-R", "a+rX", ctxs]);
  const r = spawnSync("setpriv", ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "--", "test", "-r", bin]);
  if (r.status !== 0) throw new Error(`${USER} cannot read ${bin}: the worktree must be readable by other users`);
}, 120_000);

afterAll(() => {
  if (!skip) {
    for (const p of userProcesses()) spawnSync("kill", ["-9", String(p)]);
    // the user's store holds files of its subordinate ids: removed by root
    spawnSync("userdel", [USER]);
    setSubids();
  }
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(skip !== undefined)("tsbuild in an unprivileged pod", () => {
  it("masked /proc: info says RUN shares the pid namespace; a fixture builds to the root build's image", () => {
    const info = asUser("masked", ["info", "--format", "json"]);
    expect(info.code, info.err + info.out).toBe(0);
    const j = JSON.parse(info.out) as { user: { mode: string; idMapping: string; processSandbox: string; why: { processSandbox: string } } };
    expect(j.user).toMatchObject({ mode: "rootless", idMapping: "subids", processSandbox: "shared" });
    expect(j.user.why.processSandbox).toContain("mount_too_revealing");
    const b = userBuild("masked", "plain");
    expect(b.code, b.err).toBe(0);
    expect(b.err).toContain("rootless (user namespace; no process sandbox: RUN shares the pid namespace); snapshotter overlay");
    expect(b.err).toContain("proc-ok");
    expect(b.err).not.toMatch(/pid 1\n/); // not pid 1 of a namespace of its own
    expect(b.iid).toBe(rootBuild("plain"));
    // the same tree with the owners fixture (subordinate ids)
    const owners = userBuild("masked", "copy-modes-owners");
    expect(owners.code, owners.err).toBe(0);
    expect(owners.iid).toBe(rootBuild("copy-modes-owners"));
  }, 180_000);

  it("unmasked /proc: a pid namespace of its own per RUN (pid 1)", () => {
    const b = userBuild("plain", "plain", ["--no-cache"]);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toMatch(/pid 1\n/);
    expect(b.err).toContain("rootless (user namespace); snapshotter overlay");
    expect(b.iid).toBe(rootBuild("plain"));
  }, 120_000);

  it("no subordinate ids: the user alone is mapped; root-owned images build the same; chown to another id is refused, saying why", () => {
    setSubids();
    try {
      const info = asUser("plain", ["info", "--format", "json"]);
      expect(info.code, info.err + info.out).toBe(0);
      const j = JSON.parse(info.out) as { user: { idMapping: string; uidMap: unknown[]; why: { idMapping: string } } };
      expect(j.user.idMapping).toBe("single");
      expect(j.user.uidMap).toEqual([{ inside: 0, outside: uid, count: 1 }]);
      expect(j.user.why.idMapping).toContain("has none in /etc/subuid");
      const b = userBuild("masked", "plain", ["--no-cache"]);
      expect(b.code, b.err).toBe(0);
      expect(b.err).toContain("rootless (user namespace; one id mapped: the user as 0; no process sandbox");
      expect(b.iid).toBe(rootBuild("plain"));
      const ch = userBuild("plain", "chown");
      expect(ch.code).toBe(1);
      expect(ch.iid).toBeUndefined();
      expect(ch.err).toMatch(/chown: \/f: Invalid argument/);
      expect(ch.err).toMatch(/this build maps one id only \(the user only, as 0 \(rootless builds need subordinate uids, and tsbuild-pod-test has none in \/etc\/subuid.*\): files cannot be given owners other than root/);
      const cc = userBuild("plain", "copy-chown");
      expect(cc.code).toBe(1);
      expect(cc.iid).toBeUndefined();
      expect(cc.err).toContain("this build maps one id only");
    } finally {
      setSubids(subStart);
    }
  }, 180_000);

  it("no user namespace can be made: the build is refused with what the pod needs; info says so", () => {
    const b = asUser("no-userns", ["build", "--progress=plain", join(ctxs, "plain")]);
    expect(b.code).toBe(1);
    expect(b.err).toContain(`tsbuild build: cannot isolate RUN steps here: tsbuild runs as uid ${uid} without the capabilities to make namespaces, and no user namespace can be made (unshare failed: No space left on device: user.max_user_namespaces is 0 (here, or in a user namespace above this one)). The pod (or host) needs one of: user namespaces allowed (sysctl user.max_user_namespaces > 0 on the node;`);
    expect(b.err).toContain("or, where the pod allows none of this, tsbuild run as root in the container with --isolation=chroot");
    const info = asUser("no-userns", ["info"]);
    expect(info.code).toBe(1);
    expect(info.out).toContain("No space left on device");
  }, 60_000);

  it("root in the pod without CAP_SYS_ADMIN and no user namespace: refused by default, --isolation=chroot builds (the root build's image for plain RUNs)", () => {
    const refused = asPodRoot(["build", "--root", chrootStore, "--progress=plain", join(ctxs, "chroot")]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("cannot isolate RUN steps here: tsbuild runs as uid 0 without the capabilities to make namespaces, and no user namespace can be made (unshare failed: No space left on device");
    // a build without RUN needs no namespace: root there builds it (copy snapshotter), the root build's image
    const noRunIid = join(work, "iid-no-run");
    const noRun = asPodRoot(["build", "--root", chrootStore, "--progress=plain", "--iidfile", noRunIid, join(ctxs, "no-run")]);
    expect(noRun.code, noRun.err).toBe(0);
    expect(iidOf(noRunIid)).toBe(rootBuild("no-run"));
    const iid = join(work, "iid-chroot");
    const b = asPodRoot(["build", "--root", chrootStore, "--progress=plain", "--isolation=chroot", "--iidfile", iid, join(ctxs, "chroot")]);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toContain("chroot (--isolation=chroot: no namespaces, RUN sees the host's processes and network); snapshotter copy");
    expect(b.err).not.toMatch(/pid 1\n/);
    expect(iidOf(iid)).toBe(rootBuild("chroot"));
    const m = asPodRoot(["build", "--root", chrootStore, "--progress=plain", "--isolation=chroot", join(ctxs, "chroot-mount")]);
    expect(m.code).toBe(1);
    expect(m.err).toContain("RUN --mount needs mounts, which --isolation=chroot does not make");
    // store commands run without a namespace
    const du = asPodRoot(["du", "--root", chrootStore]);
    expect(du.code, du.err).toBe(0);
  }, 180_000);

  it("a seccomp filter refusing unshare (Docker's default profile): refused, naming seccomp; info lists it", () => {
    const b = asUser("seccomp", ["build", "--progress=plain", join(ctxs, "plain")]);
    expect(b.code).toBe(1);
    expect(b.err).toContain("no user namespace can be made (unshare failed: Operation not permitted: a seccomp filter is on (Seccomp: 2 in /proc/self/status;");
    expect(b.err).toContain("a seccomp profile that allows unshare and clone with CLONE_NEWUSER (securityContext.seccompProfile.type: Unconfined");
    const info = asUser("seccomp", ["info", "--format", "json"]);
    expect(info.code).toBe(1);
    const j = JSON.parse(info.out) as { security: { seccomp: string }; problems: string[] };
    expect(j.security.seccomp).toBe("filter");
    expect(j.problems.join("\n")).toContain("a seccomp filter is on");
  }, 60_000);

  it("--isolation=chroot as the host's root: devices while the RUN runs, none in the layer; the runc build's image", () => {
    const iid = join(work, "iid-chroot-host");
    const b = asRoot(chrootStore, ["build", "--progress=plain", "--isolation=chroot", "--iidfile", iid, join(ctxs, "chroot-dev")]);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toContain("dev-ok");
    expect(iidOf(iid)).toBe(rootBuild("chroot-dev"));
    const again = asRoot(chrootStore, ["build", "--progress=plain", "--isolation=chroot", "--no-cache", "--iidfile", iid, join(ctxs, "chroot")]);
    expect(again.code, again.err).toBe(0);
    expect(iidOf(iid)).toBe(rootBuild("chroot"));
  }, 120_000);

  it("the library: an unknown isolation is refused before anything runs", () => {
    const script = join(work, "lib.mjs");
    writeFileSync(script, `import { build } from ${JSON.stringify(join(repo, "packages/engine/dist/index.js"))};\ntry { await build({ context: ${JSON.stringify(join(ctxs, "plain"))}, root: ${JSON.stringify(rootStore)}, isolation: "none" }); } catch (e) { console.log(e.name + ": " + e.message); }\n`);
    const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
    expect(r.stdout.trim()).toBe('BuildInputError: unknown isolation "none": one of auto, chroot');
  });

  it("--isolation: an unknown value is a usage error", () => {
    const r = asRoot(rootStore, ["build", "--isolation=none", join(ctxs, "plain")]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--isolation none: use auto or chroot");
  });
});
