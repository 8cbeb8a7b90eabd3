import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { OverlaySnapshotter, CopySnapshotter, activeMounts, type Snapshotter } from "@tsbuild/snapshot";
import type { LayerEntry } from "@tsbuild/oci";
import { RuncExecutor, type RunRequest } from "../src/index.js";
import { buildSpec, cgroupNamespaceSupported } from "../src/spec.js";
import { makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-runtime-"));
const stateDir = join(work, "runc");
const executor = new RuncExecutor({ stateDir, scratch: join(work, "scratch"), cacheRoot: join(work, "cache") });
let overlay: OverlaySnapshotter;
let copy: CopySnapshotter;

async function commitBase(s: Snapshotter): Promise<void> {
  const a = await s.prepare("base-active");
  makeBusyboxRootfs(a.root, { extraUsers: true });
  execFileSync("mkdir", ["-p", join(a.root, "home/app"), join(a.root, "stuff/keep"), join(a.root, "stuff/replace")]);
  execFileSync("sh", ["-c", `echo keep > ${a.root}/stuff/keep/k; echo old > ${a.root}/stuff/replace/old; echo m > ${a.root}/modify.txt; echo r > ${a.root}/rename-me; echo c > ${a.root}/chmod-me; echo o > ${a.root}/chown-me; chown 1000:1000 ${a.root}/home/app`]);
  await s.commit("base", "base-active");
}

beforeAll(async () => {
  overlay = new OverlaySnapshotter(join(work, "overlay"));
  copy = new CopySnapshotter(join(work, "copy"));
  await commitBase(overlay);
  await commitBase(copy);
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Runs a script in a step on `s` and returns the layer entries as comparable strings. */
async function step(s: Snapshotter, script: string, extra: Partial<RunRequest> = {}): Promise<{ entries: string[]; exitCode: number; out: string }> {
  const key = `step-${Math.random().toString(36).slice(2)}`;
  const a = await s.prepare(key, "base");
  let out = "";
  try {
    const r = await executor.run({ rootfs: a.root, args: ["/bin/sh", "-c", script], onOutput: (_s, c) => (out += c.toString()), ...extra });
    const entries: string[] = [];
    for await (const e of s.diff(key)) entries.push(describe_(e));
    return { entries, exitCode: r.exitCode, out };
  } finally {
    await s.remove(key);
  }
}
function describe_(e: LayerEntry): string {
  const meta = e.type === "whiteout" || e.type === "opaque" ? "" : ` ${e.mode.toString(8)} ${e.uid}:${e.gid}`;
  const detail = e.type === "symlink" || e.type === "hardlink" ? ` -> ${e.linkname}` : e.type === "file" ? ` ${e.size}` : "";
  return `${e.type} ${e.path}${meta}${detail}`;
}

const cases: { name: string; script: string; user?: string; expected: string[] }[] = [
  { name: "create", script: "echo hi > /new.txt", expected: ["file new.txt 644 0:0 3"] },
  { name: "modify", script: "echo more >> /modify.txt", expected: ["file modify.txt 644 0:0 7"] },
  { name: "delete", script: "rm /modify.txt", expected: ["whiteout modify.txt"] },
  { name: "rename", script: "mv /rename-me /renamed", expected: ["file renamed 644 0:0 2", "whiteout rename-me"] },
  { name: "chmod", script: "chmod 600 /chmod-me", expected: ["file chmod-me 600 0:0 2"] },
  { name: "chown", script: "chown 1000:1000 /chown-me", expected: ["file chown-me 644 1000:1000 2"] },
  { name: "hard link", script: "ln /modify.txt /hard", expected: ["file hard 644 0:0 2", "hardlink modify.txt 644 0:0 -> hard"] },
  { name: "symlink", script: "ln -s /modify.txt /sym", expected: ["symlink sym 777 0:0 -> /modify.txt"] },
  { name: "fifo", script: "mkfifo -m 644 /fifo", expected: ["fifo fifo 644 0:0"] },
  { name: "delete and recreate a directory (opaque)", script: "rm -rf /stuff/replace && mkdir /stuff/replace && echo new > /stuff/replace/new",
    expected: ["dir stuff 755 0:0", "dir stuff/replace 755 0:0", "opaque stuff/replace", "file stuff/replace/new 644 0:0 4"] },
  // with overlay's redirect_dir off, as BuildKit sees it: the moved tree as new entries, the old name whited out
  { name: "rename a base directory", script: "mv /stuff/keep /stuff/moved",
    expected: ["dir stuff 755 0:0", "dir stuff/moved 755 0:0", "file stuff/moved/k 644 0:0 5", "whiteout stuff/keep"] },
  { name: "delete a base directory (whiteout)", script: "rm -rf /stuff/keep", expected: ["dir stuff 755 0:0", "whiteout stuff/keep"] },
  { name: "writes as a non-root USER", script: "echo mine > /home/app/file", user: "app",
    expected: ["dir home 755 0:0", "dir home/app 755 1000:1000", "file home/app/file 644 1000:1000 5"] },
  { name: "/etc/hosts and resolv.conf stay out of the layer; no /etc/hostname (as BuildKit)", script: "cat /etc/hosts /etc/resolv.conf >/dev/null && test ! -e /etc/hostname && test \"$(hostname)\" = buildkitsandbox",
    expected: [] },
];

describe.each([["overlay"], ["copy"]] as const)("RUN steps on the %s snapshotter give exact layers", (kind) => {
  it.each(cases)("$name", async ({ script, user, expected }) => {
    const s = kind === "overlay" ? overlay : copy;
    const r = await step(s, script, user ? { user } : {});
    expect(r.exitCode).toBe(0);
    // runc creates the mount points the image lacks (/proc, /dev, /sys): BuildKit keeps them too
    const layer = r.entries.filter((e) => !/^dir (proc|dev|sys) /.test(e));
    const sorted = (l: string[]) => [...l].sort();
    expect(sorted(layer)).toEqual(sorted(expected));
  });
});

describe.each([["overlay"], ["copy"]] as const)("mount stubs on the %s snapshotter, against a step that swaps their parent for a symlink", (kind) => {
  /** names, kinds, modes, sizes and times of everything in the canary (a host directory no step may touch) */
  const state = (dir: string) => execFileSync("find", [dir, "-printf", "%p %y %m %s %T@\\n"]).toString();
  it("removes and re-times nothing outside the root (BuildKit's CVE-2024-23652 pattern)", async () => {
    const canary = mkdtempSync(join(work, "canary-"));
    // what the stubs would be if /stuff led to the canary: empty files and the directory holding them
    execFileSync("sh", ["-c", `mkdir -p ${canary}/keep; : > ${canary}/keep/tok; : > ${canary}/hosts; touch -d 2001-01-01 ${canary}/keep/tok ${canary}/keep ${canary}`]);
    const before = state(canary);
    const s = kind === "overlay" ? overlay : copy;
    // a file mount's stub, in a directory of the image (/stuff/keep); /etc/hosts's, in /etc
    const mounts = [{ type: "secret" as const, target: "/stuff/keep/tok", data: Buffer.from("s3cret") }];
    // (on overlay a directory of a lower layer cannot be renamed: that mv fails, the ln still runs)
    const r = await step(s, `mv /stuff /stuff.old; ln -s ${canary} /stuff; mv /etc /etc.old; ln -s ${canary} /etc; true`, { mounts });
    expect(r.exitCode).toBe(0);
    expect(state(canary)).toBe(before);
    if (kind === "copy") expect(r.entries).toContain(`symlink stuff 777 0:0 -> ${canary}`);
  });
});

describe("the container", () => {
  it("runs as the USER with supplementary groups and HOME", async () => {
    const r = await step(overlay, "id; echo HOME=$HOME; pwd", { user: "app", cwd: "/tmp" });
    expect(r.out).toContain("uid=1000(app) gid=1000(app) groups=50(staff)");
    expect(r.out).toContain("HOME=/home/app");
    expect(r.out).toContain("/tmp");
  });
  it("returns the exit code and streams output", async () => {
    const r = await step(overlay, "echo out; echo err >&2; exit 7");
    expect(r.exitCode).toBe(7);
    expect(r.out).toContain("out");
    expect(r.out).toContain("err");
  });
  it("--network none has only loopback and no way out", async () => {
    const server = createServer((s) => s.end("hello"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const none = await step(overlay, `cat /proc/net/route | wc -l; ls /sys/class/net; nc -w 1 127.0.0.1 ${port} 2>/dev/null || echo unreachable`, { network: "none" });
      expect(none.out).toMatch(/^1\n/); // only the header line: no routes
      expect(none.out).toContain("lo");
      expect(none.out).toContain("unreachable");
      const host = await step(overlay, `nc -w 2 127.0.0.1 ${port}`, { network: "host" });
      expect(host.out).toContain("hello");
    } finally {
      server.close();
    }
  });
  it("RUN mounts: cache persists between runs, secret and tmpfs never reach the layer, bind is read-only", async () => {
    const src = join(work, "bind-src");
    execFileSync("mkdir", ["-p", src]);
    execFileSync("sh", ["-c", `echo from-host > ${src}/in.txt`]);
    const mounts = [
      { type: "cache" as const, target: "/root/.cache", id: "test-cache" },
      { type: "secret" as const, target: "/run/secrets/token", data: Buffer.from("s3cret") },
      { type: "tmpfs" as const, target: "/scratch" },
      { type: "bind" as const, target: "/src", source: src },
    ];
    const first = await step(overlay, "echo 1 >> /root/.cache/count; cat /run/secrets/token; echo x > /scratch/t; cat /src/in.txt; echo no > /src/w || echo ro-ok", { mounts });
    expect(first.out).toContain("s3cret");
    expect(first.out).toContain("from-host");
    expect(first.out).toContain("ro-ok");
    const second = await step(overlay, "echo 1 >> /root/.cache/count; wc -l < /root/.cache/count", { mounts });
    expect(second.out.trim()).toBe("2");
    // nothing of the mounts is in the layer, not even the mount points made for them (BuildKit 0.13)
    expect(first.entries.filter((e) => !/^dir (proc|dev|sys) /.test(e))).toEqual([]);
  });
  it("mount stubs: every missing path from a target up is removed when still empty, deepest first; what the run filled stays", async () => {
    const mounts = [
      { type: "cache" as const, target: "/a/b/c", id: "stub-test" },
      { type: "tmpfs" as const, target: "/x/y" },
      { type: "secret" as const, target: "/s/t/u", data: Buffer.from("s") },
      { type: "tmpfs" as const, target: "/stuff/keep/deeper/t" },
    ];
    const r = await step(overlay, "echo kept > /a/b/kept; ls -d /a/b/c /x/y /s/t/u /stuff/keep/deeper/t", { mounts });
    expect(r.exitCode).toBe(0);
    expect(r.entries.filter((e) => !/^dir (proc|dev|sys) /.test(e)).sort()).toEqual(["dir a 755 0:0", "dir a/b 755 0:0", "file a/b/kept 644 0:0 5"]);
  });
  it("mounts are made parents first, whatever their order (as BuildKit sorts them)", async () => {
    const r = await step(overlay, "grep -E ' /n(/inner)? ' /proc/mounts | cut -d' ' -f2", { mounts: [{ type: "tmpfs", target: "/n/inner" }, { type: "tmpfs", target: "/n" }] });
    expect(r.out).toBe("/n\n/n/inner\n");
  });
  it("tmpfs as BuildKit mounts it: nosuid (no nodev), ro, its size", async () => {
    const r = await step(overlay, "grep -E ' /t[12] ' /proc/mounts", { mounts: [{ type: "tmpfs", target: "/t1", size: 1536 * 1024 }, { type: "tmpfs", target: "/t2", readonly: true }] });
    expect(r.out).toContain("tmpfs /t1 tmpfs rw,nosuid,relatime,size=1536k 0 0");
    expect(r.out).toContain("tmpfs /t2 tmpfs ro,nosuid,relatime 0 0");
  });
  it("a secret file is noexec unless its mode has an execute bit; its mode is masked with 0777", async () => {
    const script = Buffer.from("#!/bin/sh\necho ran-secret\n");
    const r = await step(overlay, "/run/x/tool; stat -c '%a %u %g' /run/x/tool; grep ' /run/x/data ' /proc/mounts", {
      mounts: [{ type: "secret", target: "/run/x/tool", data: script, mode: 0o4755, uid: 5, gid: 6 }, { type: "secret", target: "/run/x/data", data: Buffer.from("d") }],
    });
    expect(r.out).toContain("ran-secret\n755 5 6\n");
    expect(r.out).toMatch(/ \/run\/x\/data tmpfs ro,nosuid,nodev,noexec,/);
  });
  it("secrets in the environment: set over a variable of the name, the config they are in only on the secrets tmpfs", async () => {
    const token = `env-${randomBytes(16).toString("hex")}`;
    const r = await step(overlay, 'echo "[$TOK]"; env | grep -c "^TOK="; echo "[$EMPTY]"; sleep 0.3', {
      env: ["TOK=from-env", "KEEP=1"], secretEnv: [{ name: "TOK", data: Buffer.from(token) }, { name: "EMPTY", data: Buffer.alloc(0) }],
    });
    expect(r.out).toBe(`[${token}]\n1\n[]\n`);
    expect(spawnSync("grep", ["-rlF", token, work]).stdout.toString()).toBe("");
    expect(readdirSync(join(work, "scratch"))).toEqual([]);
  });
  it("--security=insecure: every capability tsbuild has, /sys writable, no masked paths, BuildKit's devices", async () => {
    const eff = /^CapEff:\s*(\w+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    const r = await step(overlay, "grep -E '^Cap(Eff|Bnd|Amb):' /proc/self/status; grep ' /sys ' /proc/mounts; ls /dev; grep -c ' /proc/kcore ' /proc/mounts", { security: "insecure" });
    expect(r.out).toMatch(new RegExp(`^CapEff:\\s+${eff}$`, "m"));
    expect(r.out).toMatch(new RegExp(`^CapAmb:\\s+${eff}$`, "m"));
    expect(r.out).toMatch(/ \/sys sysfs rw,/);
    for (const d of ["kmsg", "fuse", "cuse", "kvm", "net", "loop-control", "loop0", "loop7"]) expect(r.out.split("\n")).toContain(d);
    expect(r.out.trim().endsWith("\n0")).toBe(true); // /proc/kcore is not masked
    const sandbox = await step(overlay, "grep -E '^CapEff:' /proc/self/status; grep ' /sys' /proc/mounts", {});
    expect(sandbox.out).toMatch(/^CapEff:\s+00000000a80425fb$/m);
    expect(sandbox.out).not.toMatch(/ \/sys\S* (sysfs|cgroup2?) rw,/); // sysfs and the cgroup hierarchies read-only
  });
  it("secrets live on a tmpfs of their own (0700, nosuid,nodev,noexec, sized to them) while the RUN runs, and nowhere after", async () => {
    const token = `tok-${randomBytes(16).toString("hex")}`;
    const mounts = [
      { type: "secret" as const, target: "/run/secrets/a", data: Buffer.from(token) },
      { type: "secret" as const, target: "/run/secrets/b", data: Buffer.from("second"), mode: 0o440, uid: 1000, gid: 1000 },
    ];
    // tmpfs mount points under the scratch dir (the run's bundle): "mount options | fstype source superoptions"
    const secretMounts = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n")
      .filter((l) => (l.split(" ")[4] ?? "").startsWith(join(work, "scratch") + "/")).map((l) => `${l.split(" ")[5]} | ${l.split(" - ")[1]}`);
    const seen = new Set<string>();
    const poll = setInterval(() => secretMounts().forEach((m) => seen.add(m)), 10);
    let r: Awaited<ReturnType<typeof step>>;
    try {
      r = await step(overlay, "cat /run/secrets/a; echo; ls -ln /run/secrets/b | cut -c1-10; ls -ln /run/secrets/b | tr -s ' ' | cut -d' ' -f3,4; (echo x > /run/secrets/a) 2>/dev/null || echo ro; sleep 0.4", { mounts });
    } finally {
      clearInterval(poll);
    }
    expect(r.out).toBe(`${token}\n-r--r-----\n1000 1000\nro\n`);
    expect([...seen]).toHaveLength(1);
    const [flags, fs] = [...seen][0]!.split(" | ") as [string, string];
    expect(flags.split(",")).toEqual(expect.arrayContaining(["nosuid", "nodev", "noexec"]));
    const [fstype, source, options] = fs.split(" ");
    expect([fstype, source]).toEqual(["tmpfs", "tsbuild-secrets"]);
    expect(options).toMatch(/(^|,)mode=700(,|$)/);
    expect(options).toMatch(/(^|,)size=12k(,|$)/); // two one-page files and a page of slack
    expect(secretMounts()).toEqual([]);
    expect(readdirSync(join(work, "scratch"))).toEqual([]);
    // the secret's bytes were never written to the disk the store and the scratch dir are on
    expect(spawnSync("grep", ["-rlF", token, work]).stdout.toString()).toBe("");
  });
  it("a secret holding a NUL byte is never handed to runc for the environment (runc's refusal prints the variable)", async () => {
    const token = `nul-${randomBytes(16).toString("hex")}`;
    let out = "";
    const e = await step(overlay, "true", { secretEnv: [{ name: "TOK", data: Buffer.from(`a\0${token}`) }], onOutput: (_s, c) => (out += c.toString()) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).name).toBe("RuncError");
    expect(`${(e as Error).message}${out}`).not.toContain(token);
    expect(readdirSync(join(work, "scratch"))).toEqual([]);
  });
  it("refuses a root whose /dev is a symlink before runc runs (runc makes /dev/ptmx, /dev/fd… through the host's resolution of it)", async () => {
    const target = mkdtempSync(join(work, "dev-target-"));
    for (const link of [target, `${"../".repeat(30)}${target.slice(1)}`]) {
      const key = `devlink-${Math.random().toString(36).slice(2)}`;
      const a = await overlay.prepare(key, "base");
      try {
        rmSync(join(a.root, "dev"), { recursive: true, force: true });
        symlinkSync(link, join(a.root, "dev"));
        const e = await executor.run({ rootfs: a.root, args: ["/bin/sh", "-c", "true"] }).catch((x: unknown) => x);
        expect((e as Error).name).toBe("UnsafeRootfsError");
        expect((e as Error).message).toMatch(/^the image's \/dev is a symlink \(to .*\): runc would follow it on the host/);
      } finally {
        await overlay.remove(key);
      }
    }
    expect(readdirSync(target)).toEqual([]);
    expect(readdirSync(join(work, "scratch"))).toEqual([]);
  });
  it("has docker's default capability bounding set, for root and for a USER", async () => {
    for (const user of ["root", "app"]) {
      const r = await step(overlay, "grep -E '^Cap(Bnd|Prm|Eff):' /proc/self/status", { user });
      expect(r.out).toMatch(/^CapBnd:\s+00000000a80425fb$/m);
      if (user === "root") expect(r.out).toMatch(/^CapEff:\s+00000000a80425fb$/m);
      else expect(r.out).toMatch(/^CapEff:\s+0000000000000000$/m);
    }
  });
  it("/sys is read-only, its own sysfs (not the host's, with its cgroups) also on the host's network", async () => {
    const r = await step(overlay, "grep ' /sys' /proc/mounts; echo x > /sys/kernel/test 2>/dev/null || echo write-refused; mkdir /sys/new 2>/dev/null || echo mkdir-refused", { network: "host" });
    expect(r.out).toMatch(/^sysfs \/sys sysfs ro[,\s]/m);
    expect(r.out).toMatch(/ \/sys\/fs\/cgroup\S* cgroup2? ro,/);
    expect(r.out).not.toMatch(/ \/sys\S* (sysfs|cgroup2?) rw,/);
    expect(r.out).toContain("write-refused");
    expect(r.out).toContain("mkdir-refused");
  });
  it("a cgroup namespace of its own where the host has cgroup v2 (as BuildKit): the RUN sees its own cgroup as the root, never the host's hierarchy", async () => {
    const v2 = cgroupNamespaceSupported();
    expect(v2).toBe(existsSync("/proc/self/ns/cgroup") && existsSync("/sys/fs/cgroup/cgroup.subtree_control"));
    const spec = (ns: boolean) => buildSpec({
      rootfs: "/r", args: ["true"], env: [], cwd: "/", uid: 0, gid: 0, additionalGids: [], hostname: "h", network: "default",
      etcFiles: { hosts: "/h", resolv: "/r" }, extraMounts: [], cgroupNamespace: ns,
    }).linux.namespaces.map((n) => n.type);
    expect(spec(true)).toContain("cgroup");
    expect(spec(false)).not.toContain("cgroup");
    const r = await step(overlay, "cat /proc/self/cgroup; ls /sys/fs/cgroup");
    if (v2) {
      // the RUN's own cgroup is its root: no host cgroup (system.slice, other containers) is in sight
      expect(r.out.split("\n")[0]).toBe("0::/");
      expect(r.out).not.toMatch(/system\.slice|user\.slice/);
    } else {
      // cgroup v1: runc binds each hierarchy's own cgroup of the container (BuildKit adds no namespace either)
      for (const l of r.out.split("\n").filter((x) => /^\d+:/.test(x))) expect(l).toMatch(/:\/(.*\/)?tsbuild-[^/]+$/);
    }
  });
  it("passes the env as given, filling in PATH and HOME only when unset (no HOSTNAME, as BuildKit)", async () => {
    const given = await step(overlay, 'printf "%s|" "$GREETING" "$EMPTY" "$HOME" "$PATH" "$HOSTNAME"', {
      env: ["GREETING=hello  world=1", "EMPTY=", "HOME=/custom", "PATH=/bin"], user: "app",
    });
    // (the shell's own HOSTNAME: busybox sh sets it from the UTS name, and exports nothing of it)
    expect(given.out).toBe("hello  world=1||/custom|/bin|buildkitsandbox|");
    // nothing else from the host: only what the shell itself exports (PWD, SHLVL)
    const filled = await step(overlay, "env | grep -v -e ^PWD= -e ^SHLVL= | sort", { user: "app" });
    expect(filled.out).toBe("HOME=/home/app\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  });
  it("a hostname given is the UTS name and /etc/hosts's, as BuildKit's (default buildkitsandbox); never in the env", async () => {
    const script = "hostname; cat /etc/hosts; env | grep ^HOSTNAME= || echo env:unset";
    const given = await step(overlay, script, { hostname: "box.example" });
    expect(given.out).toBe("box.example\n127.0.0.1\tlocalhost box.example\n::1\tlocalhost ip6-localhost ip6-loopback\nenv:unset\n");
    expect((await step(overlay, script, { network: "host", hostname: "other" })).out).toMatch(/^other\n127\.0\.0\.1\tlocalhost other\n/);
    expect((await step(overlay, script)).out).toBe("buildkitsandbox\n127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\nenv:unset\n");
  });
  it("cache sharing=private: the cache when free, a throwaway copy while another run holds it", async () => {
    const cache = (sharing: "shared" | "private") => [{ type: "cache" as const, target: "/c", id: "private-test", sharing }];
    await step(overlay, "echo persisted > /c/mark", { mounts: cache("private") });
    const again = await step(overlay, "cat /c/mark", { mounts: cache("private") });
    expect(again.out).toBe("persisted\n");
    // while a shared run holds the cache, a private run gets an empty one, and its writes go nowhere
    const holder = step(overlay, "touch /c/holding; sleep 2; ls /c", { mounts: cache("shared") });
    await new Promise((r) => setTimeout(r, 800));
    const concurrent = await step(overlay, "ls -A /c; echo private > /c/private-only", { mounts: cache("private") });
    expect(concurrent.out).toBe("");
    expect((await holder).out.split("\n").sort().filter(Boolean)).toEqual(["holding", "mark"]);
    const after = await step(overlay, "ls /c", { mounts: cache("private") });
    expect(after.out.split("\n").filter(Boolean).sort()).toEqual(["holding", "mark"]);
  });
  it("cache sharing=locked: concurrent runs take turns", async () => {
    const mounts = [{ type: "cache" as const, target: "/c", id: "locked-test", sharing: "locked" as const }];
    const script = (n: number) => `echo start-${n} >> /c/log; sleep 1; echo end-${n} >> /c/log`;
    await Promise.all([step(overlay, script(1), { mounts }), step(overlay, script(2), { mounts })]);
    const log = (await step(overlay, "cat /c/log", { mounts })).out.trim().split("\n");
    expect(log).toHaveLength(4);
    const first = (log[0] as string).slice("start-".length);
    const second = first === "1" ? "2" : "1";
    expect(log).toEqual([`start-${first}`, `end-${first}`, `start-${second}`, `end-${second}`]);
  });
  it.each([["SIGINT", 130], ["SIGTERM", 143]] as const)("%s to the process kills the container and cleans up, exit %i", async (signal, exitCode) => {
    const script = `
      import { OverlaySnapshotter, unmountAll } from ${JSON.stringify(new URL("../../snapshot/dist/index.js", import.meta.url).href)};
      import { RuncExecutor, abortOnSignals } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      const s = new OverlaySnapshotter(${JSON.stringify(join(work, "overlay"))});
      const ex = new RuncExecutor({ stateDir: ${JSON.stringify(stateDir)}, scratch: ${JSON.stringify(join(work, "scratch"))}, cacheRoot: ${JSON.stringify(join(work, "cache"))} });
      const a = await s.prepare("sig", "base");
      const ac = new AbortController();
      abortOnSignals(ac, async () => { await s.remove("sig"); await unmountAll(); });
      console.log("started");
      await ex.run({ rootfs: a.root, args: ["/bin/sleep", "61"], signal: ac.signal, mounts: [{ type: "secret", target: "/run/secrets/s", data: Buffer.from("sig-secret") }] });
      await new Promise(() => {}); // the signal handler exits
    `;
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((r) => child.stdout.on("data", (d: Buffer) => d.toString().includes("started") && r()));
    await new Promise((r) => setTimeout(r, 500));
    child.kill(signal);
    const code = await new Promise((r) => child.on("exit", (c) => r(c)));
    expect(code).toBe(exitCode);
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(join(work, "overlay", "a"));
    expect(readFileSync("/proc/mounts", "utf8")).not.toContain(join(work, "scratch")); // the secret tmpfs too
    expect(readdirSync(join(work, "scratch"))).toEqual([]);
    expect(spawnSync("runc", ["--root", stateDir, "list", "-q"]).stdout.toString().trim()).toBe("");
    expect(spawnSync("pgrep", ["-f", "sleep 61"]).stdout.toString().trim()).toBe("");
  });
  it("a finished run and one whose command cannot start leave no container state behind", async () => {
    // runc run deletes its container itself; tsbuild deletes only what runc left (see container.ts)
    const states = () => readdirSync(stateDir).filter((n) => n.startsWith("tsbuild-"));
    expect((await step(overlay, "true")).exitCode).toBe(0);
    expect(states()).toEqual([]);
    const key = "step-nostart";
    const a = await overlay.prepare(key, "base");
    try {
      const r = await executor.run({ rootfs: a.root, args: ["/no/such/program"] }).catch((e: Error) => e);
      expect(r instanceof Error ? r.message : `exit ${r.exitCode}`).toMatch(/no such file|exit 127|runc failed/i);
    } finally {
      await overlay.remove(key);
    }
    expect(states()).toEqual([]);
    expect(spawnSync("runc", ["--root", stateDir, "list", "-q"]).stdout.toString().trim()).toBe("");
  });
  it("a timed-out or aborted run leaves no mount, no container, no process", async () => {
    // only this test's mounts: other test files mount and unmount at the same time
    const mine = () => readFileSync("/proc/mounts", "utf8").split("\n").filter((l) => l.includes(work));
    const before = mine();
    const t = await step(overlay, "sleep 31", { timeoutMs: 500 });
    expect(t.exitCode).toBe(137);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const a = await step(overlay, "sleep 31", { signal: ac.signal });
    expect(a.exitCode).toBe(137);
    expect(mine()).toEqual(before);
    expect(activeMounts()).toEqual([]);
    const list = spawnSync("runc", ["--root", stateDir, "list", "-q"]).stdout.toString().trim();
    expect(list).toBe("");
    expect(spawnSync("pgrep", ["-f", "sleep 31"]).stdout.toString().trim()).toBe("");
  });
});
