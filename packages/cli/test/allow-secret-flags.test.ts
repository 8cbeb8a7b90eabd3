/**
 * `tsbuild build --allow` (BuildKit's entitlements, repeatable and comma-separated as buildx reads
 * it) and `--secret id=X` without src= or env= (the variable X when it is set, else the file X).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "./helpers/run-cli.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-cli-allow-"));
const root = join(work, "store");
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  await storeBaseImage(root, "base:1", busyboxTar(makeBusyboxRootfs(join(work, "rootfs"))));
  mkdirSync(join(work, "ctx"));
  writeFileSync(join(work, "ctx", "Dockerfile"), [
    "FROM base:1",
    "RUN --security=insecure --network=host grep CapEff /proc/self/status > /caps",
    "RUN --mount=type=secret,id=TOKEN,env=T echo \"$T\" > /token",
  ].join("\n") + "\n");
  writeFileSync(join(work, "TOKEN"), "from-file");
}, 60_000);

const run = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(["build", "--root", root, "--platform", "linux/amd64", "--progress", "plain", ...argv], { cwd: work, env });

describe("tsbuild build --allow", () => {
  it("an unknown entitlement is a usage error", async () => {
    const r = await run(["--allow", "network.host,network.bogus", "ctx"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("tsbuild build: --allow: unknown entitlement network.bogus");
  });
  it("without the entitlements the RUN is refused at its line; with them (comma-separated or repeated) it runs", async () => {
    const refused = await run(["--secret", "id=TOKEN", "ctx"]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("Dockerfile:2");
    expect(refused.err).toContain("security.insecure is not allowed");
    for (const flags of [["--allow", "security.insecure,network.host"], ["--allow", "security.insecure", "--allow=network.host"]]) {
      const out = join(work, `out-${flags.length}`);
      const r = await run([...flags, "--secret", "id=TOKEN", "-o", `type=local,dest=${out}`, "ctx"]);
      expect(r.code, r.err).toBe(0);
      expect(readFileSync(join(out, "caps"), "utf8")).not.toBe("CapEff:\t00000000a80425fb\n");
      expect(readFileSync(join(out, "token"), "utf8")).toBe("from-file\n");
    }
  });
  it("--secret id=X reads the variable X when it is set", async () => {
    const out = join(work, "out-env");
    const r = await run(["--allow", "security.insecure", "--network", "host", "--secret", "id=TOKEN", "-o", `type=local,dest=${out}`, "ctx"], { TOKEN: "from-env" });
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(join(out, "token"), "utf8")).toBe("from-env\n");
  });
  it("--secret files as buildx checks them: missing, over 500 KiB; an empty --secret is none", async () => {
    const missing = await run(["--secret", "id=x,src=nope.txt", "ctx"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("failed to stat nope.txt: stat nope.txt: no such file or directory");
    writeFileSync(join(work, "big"), Buffer.alloc(500 * 1024 + 1));
    const big = await run(["--secret", "id=big,src=big", "ctx"]);
    expect(big.code).toBe(2);
    expect(big.err).toContain("secret big too big. max size 500KiB");
    const out = join(work, "out-empty");
    const r = await run(["--allow", "security.insecure", "--network", "host", "--no-cache", "--secret", "", "--secret", "id=TOKEN,type=env,src=TOK", "-o", `type=local,dest=${out}`, "ctx"], { TOK: "typed-env" });
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(join(out, "token"), "utf8")).toBe("typed-env\n");
  });
});
