/** `tsbuild run`'s docker-run flags: -v, -e, -u, -w, through the CLI on a busybox image. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers/run-cli.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { parseVolume, parseEnv, imageIndex } from "../src/run-flags.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-run-flags-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const env = { TSBUILD_ROOT: join(work, "store"), FROM_HOST: "here" };
const run = (argv: string[], stdin?: Buffer) => runCli(argv, { ...(stdin ? { stdin } : {}), env, cwd: work });

beforeAll(async () => {
  const r = await run(["import", "-", "bb:1", "-c", "ENV GREETING=image", "-c", "WORKDIR /srv", "-c", 'CMD ["sh"]'], busyboxTar(makeBusyboxRootfs(join(work, "rootfs"), { extraUsers: true })));
  expect(r.code, r.err).toBe(0);
  mkdirSync(join(work, "data"));
  writeFileSync(join(work, "data/in.txt"), "from the host\n");
}, 60_000);

describe("tsbuild run's docker-run flags", () => {
  it("-v binds a host directory read-write, :ro read-only; a missing source is made as docker does", async () => {
    const r = await run(["run", "-v", `${join(work, "data")}:/data`, "bb:1", "sh", "-c", "cat /data/in.txt && echo written > /data/out.txt"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe("from the host\n");
    expect(readFileSync(join(work, "data/out.txt"), "utf8")).toBe("written\n");
    const ro = await run(["run", `--volume=${join(work, "data")}:/data:ro`, "bb:1", "sh", "-c", "echo x > /data/ro.txt"]);
    expect(ro.code).not.toBe(0);
    expect(ro.err).toMatch(/Read-only file system/);
    expect(existsSync(join(work, "data/ro.txt"))).toBe(false);
    const made = join(work, "made/deeper");
    expect((await run(["run", "-v", `${made}:/m`, "bb:1", "true"])).code).toBe(0);
    expect(statSync(made).isDirectory()).toBe(true);
  }, 60_000);

  it("-e sets a variable over the image's; a bare NAME takes tsbuild's own value, or is left out", async () => {
    const r = await run(["run", "-e", "GREETING=flag", "-e", "FROM_HOST", "-e", "NOT_SET_ANYWHERE", "bb:1", "sh", "-c", 'echo "$GREETING $FROM_HOST ${NOT_SET_ANYWHERE-unset}"; env | grep -c ^GREETING=']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe("flag here unset\n1\n");
  }, 60_000);

  it("-u runs as a user of the image's /etc/passwd (name, id, id:gid); -w sets (and makes) the working directory", async () => {
    expect((await run(["run", "bb:1", "sh", "-c", "id -u; pwd"])).out).toBe("0\n/srv\n");
    expect((await run(["run", "-u", "nobody", "bb:1", "id", "-u"])).out).toBe("65534\n");
    expect((await run(["run", "-u", "1000:1000", "bb:1", "sh", "-c", "echo $(id -u):$(id -g)"])).out).toBe("1000:1000\n");
    const w = await run(["run", "-w", "/new/dir", "bb:1", "pwd"]);
    expect(w.code, w.err).toBe(0);
    expect(w.out).toBe("/new/dir\n");
  }, 60_000);

  it("options after the image are the command's; unknown or bad flags are usage errors", async () => {
    expect((await run(["run", "-e", "A=1", "bb:1", "sh", "-c", "echo $A", "-e", "x"])).out).toBe("1\n");
    for (const [argv, msg] of [
      [["run", "--privileged", "bb:1"], /unknown option --privileged/],
      [["run", "-v", "data:/data", "bb:1"], /not an absolute host path/],
      [["run", "-v", `${work}:/d:z`, "bb:1"], /unknown volume option z/],
      [["run", "-w", "rel", "bb:1"], /must be an absolute path/],
      [["run", "--network", "bridge", "bb:1"], /use default, host or none/],
    ] as const) {
      const r = await run([...argv]);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err).toMatch(msg);
    }
  }, 60_000);

  it("the flag readers", () => {
    expect(parseVolume("/a/b/:/c:ro")).toEqual({ source: "/a/b/", target: "/c", readonly: true });
    expect(() => parseVolume("/a")).toThrow(/SRC:DST/);
    expect(() => parseVolume("/a:/")).toThrow(/container's \//);
    expect(parseEnv("A=b=c", {})).toBe("A=b=c");
    expect(parseEnv("A", { A: "" })).toBe("A=");
    expect(() => parseEnv("=x", {})).toThrow(/no name/);
    expect(imageIndex(["--root", "/s", "-v", "/a:/b", "--rm", "img", "-v"], [{ name: "root", value: true, help: "" }, { name: "volume", short: "v", value: true, help: "" }, { name: "rm", help: "" }])).toBe(5);
    expect(imageIndex(["--", "-img"], [])).toBe(1);
  });
});
