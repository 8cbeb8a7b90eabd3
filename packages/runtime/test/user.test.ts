import { afterAll, describe, expect, it } from "vitest";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveUser, UserResolutionError } from "../src/index.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-user-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A root file system with only /etc/passwd and /etc/group (either may be left out). */
function root(name: string, files: { passwd?: string; group?: string }): string {
  const dir = join(work, name);
  mkdirSync(join(dir, "etc"), { recursive: true });
  if (files.passwd !== undefined) writeFileSync(join(dir, "etc/passwd"), files.passwd);
  if (files.group !== undefined) writeFileSync(join(dir, "etc/group"), files.group);
  return dir;
}

const image = root("image", {
  passwd: [
    "root:x:0:0:root:/root:/bin/sh",
    "# a comment",
    "app:x:1000:1000:app:/home/app:/bin/sh",
    "svc:x:1001:1001:svc::/bin/sh", // empty home field
    "",
  ].join("\n"),
  group: ["root:x:0:", "app:x:1000:", "staff:x:50:app,svc", "docker:x:998:app", "svc:x:1001:svc", ""].join("\n"),
});

describe("resolveUser, as docker resolves USER", () => {
  it("a name: uid, gid and HOME from passwd, supplementary groups from group", async () => {
    expect(await resolveUser(image, "app")).toEqual({ uid: 1000, gid: 1000, additionalGids: [50, 998], home: "/home/app", name: "app" });
  });
  it("a uid with a passwd entry is that entry", async () => {
    expect(await resolveUser(image, "1000")).toEqual({ uid: 1000, gid: 1000, additionalGids: [50, 998], home: "/home/app", name: "app" });
  });
  it("uid:gid: both numeric, no supplementary groups (only in the implicit form)", async () => {
    expect(await resolveUser(image, "1000:50")).toEqual({ uid: 1000, gid: 50, additionalGids: [], home: "/home/app", name: "app" });
  });
  it("name:group and uid:group take the group's gid", async () => {
    expect(await resolveUser(image, "app:staff")).toEqual({ uid: 1000, gid: 50, additionalGids: [], home: "/home/app", name: "app" });
    expect(await resolveUser(image, "1000:docker")).toMatchObject({ uid: 1000, gid: 998, additionalGids: [] });
  });
  it("the primary group is not repeated among the supplementary ones", async () => {
    expect(await resolveUser(image, "svc")).toMatchObject({ uid: 1001, gid: 1001, additionalGids: [50] });
  });
  it("a uid without a passwd entry: gid 0, HOME /", async () => {
    expect(await resolveUser(image, "4242")).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: "/" });
    expect(await resolveUser(image, "4242:4343")).toEqual({ uid: 4242, gid: 4343, additionalGids: [], home: "/" });
  });
  it("HOME is / when the passwd entry has none", async () => {
    expect((await resolveUser(image, "svc")).home).toBe("/");
  });
  it("the default user is root, also with no passwd file (FROM scratch)", async () => {
    const scratch = root("scratch", {});
    for (const spec of [undefined, "", "root"]) {
      expect(await resolveUser(scratch, spec)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: "/" });
    }
    expect(await resolveUser(image, undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: "/root", name: "root" });
  });
  it("an unknown user or group fails with docker's message", async () => {
    await expect(resolveUser(image, "nobody")).rejects.toThrow(new UserResolutionError("unable to find user nobody: no matching entries in passwd file"));
    await expect(resolveUser(image, "app:wheel")).rejects.toThrow(new UserResolutionError("unable to find group wheel: no matching entries in group file"));
    await expect(resolveUser(image, "1000:wheel")).rejects.toBeInstanceOf(UserResolutionError);
    await expect(resolveUser(root("no-passwd", {}), "app")).rejects.toThrow("unable to find user app: no matching entries in passwd file");
  });
  it("reads the image's files, an absolute symlink resolved inside the root, never the host's", async () => {
    const linked = join(work, "linked");
    mkdirSync(join(linked, "etc"), { recursive: true });
    mkdirSync(join(linked, "data"), { recursive: true });
    writeFileSync(join(linked, "data/passwd"), "app:x:2000:2000:app:/srv:/bin/sh\n");
    symlinkSync("/data/passwd", join(linked, "etc/passwd"));
    expect(await resolveUser(linked, "app")).toEqual({ uid: 2000, gid: 2000, additionalGids: [], home: "/srv", name: "app" });
    const escape = join(work, "escape");
    mkdirSync(join(escape, "etc"), { recursive: true });
    // on the host this reaches /etc/group, whose "root:x:0:" line would pass for a passwd entry
    symlinkSync("../../../../../../../../etc/group", join(escape, "etc/passwd"));
    await expect(resolveUser(escape, "root:root")).rejects.toThrow("unable to find user root: no matching entries in passwd file");
  });
  it("an /etc/passwd or /etc/group that is a fifo or a device is not read (a fifo would wait forever, /dev/zero never end): no entries", async () => {
    const odd = join(work, "odd");
    mkdirSync(join(odd, "etc"), { recursive: true });
    execFileSync("mkfifo", [join(odd, "etc/passwd")]);
    execFileSync("mknod", [join(odd, "etc/group"), "c", "1", "5"]);
    // were the fifo opened, this guard would end the wait after 10 s (the test then fails rather than hangs)
    const guard = spawn("timeout", ["20", "sh", "-c", `sleep 10; : > ${join(odd, "etc/passwd")}`], { stdio: "ignore" });
    try {
      const t0 = Date.now();
      expect(await resolveUser(odd, undefined)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: "/" });
      await expect(resolveUser(odd, "0:staff")).rejects.toThrow("unable to find group staff: no matching entries in group file");
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      guard.kill();
    }
  }, 30_000);
});
