/**
 * RUN --mount=type=ssh with BuildOptions.ssh (buildx's --ssh), checked against BuildKit 0.13 by hand
 * (docker buildx build --ssh default=SOCKET / =KEYFILE): SSH_AUTH_SOCK is the first ssh mount's
 * target (/run/buildkit/ssh_agent.N by default), the socket is mode 0600 owned 0:0 unless the mount
 * says otherwise, `ssh-add -l` inside lists the key, a user's agent is read-only (ssh-add -D fails)
 * while a key file's agent is not, the target's stubs are not in the layer, a required id not given
 * fails at its line and an optional one is skipped. Neither the key nor a secret's value reaches the
 * store. ssh-add runs inside busybox from the host's copy and the libraries ldd names, bound in from
 * the context.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BuildError, SshSpecError, openSshAgents } from "../src/index.js";
import { ownerStamp } from "@tsbuild/oci";
import { buildHarness } from "./helpers/build-harness.js";
import { filesContaining } from "./helpers/store-grep.js";

const { work, root, ctx, buildText } = buildHarness("tsbuild-run-ssh-");
const read = (out: string, f: string) => readFileSync(join(out, f), "utf8");
const SSH_ADD = "/tools/ld-linux-x86-64.so.2 --library-path /tools /tools/ssh-add";
const TOOLS = "--mount=type=bind,source=tools,target=/tools";

let keyFile = "";
let encFile = "";
let privateKey = "";
let publicBlob = "";
let fingerprint = "";
let agentSock = "";
let agent: ChildProcess | undefined;

/** this process's agent directories (other test files build at the same time) */
const ownPrefix = () => `tsbuild-ssh-${ownerStamp()}-`;
const ownDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith(ownPrefix()));

/** processes that hold one of this process's ssh directories (agents left behind) */
function leftoverAgents(): string[] {
  return readdirSync("/proc").filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
      return cmd.includes(`${tmpdir()}/${ownPrefix()}`) ? [cmd] : [];
    } catch {
      return [];
    }
  });
}

beforeAll(async () => {
  const keys = join(work, "keys");
  mkdirSync(keys);
  keyFile = join(keys, "id");
  encFile = join(keys, "enc");
  expect(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "tsbuild-test", "-f", keyFile]).status).toBe(0);
  expect(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "pw", "-C", "enc", "-f", encFile]).status).toBe(0);
  privateKey = readFileSync(keyFile, "utf8").split("\n").filter((l) => !l.startsWith("-----")).join("\n").trim();
  publicBlob = readFileSync(`${keyFile}.pub`, "utf8").split(" ")[1] as string;
  fingerprint = (spawnSync("ssh-keygen", ["-l", "-f", `${keyFile}.pub`]).stdout.toString().split(" ")[1]) as string;
  // the user's agent: Debian's ssh-agent in the foreground, holding the key
  agentSock = join(work, "agent.sock");
  agent = spawn("ssh-agent", ["-D", "-a", agentSock], { stdio: "ignore" });
  for (let i = 0; i < 100 && !existsSync(agentSock); i++) await new Promise((r) => setTimeout(r, 20));
  expect(spawnSync("ssh-add", ["-q", keyFile], { env: { SSH_AUTH_SOCK: agentSock } }).status).toBe(0);
  // ssh-add and the libraries it needs, to run inside busybox
  const tools = join(ctx, "tools");
  mkdirSync(tools, { recursive: true });
  const ldd = spawnSync("ldd", ["/usr/bin/ssh-add"]).stdout.toString();
  for (const lib of [...ldd.matchAll(/(\/\S+\.so[.\d]*)/g)].map((m) => m[1] as string)) copyFileSync(lib, join(tools, lib.slice(lib.lastIndexOf("/") + 1)));
  copyFileSync("/usr/bin/ssh-add", join(tools, "ssh-add"));
}, 60_000);

afterAll(() => {
  agent?.kill("SIGTERM");
});

describe("RUN --mount=type=ssh", () => {
  it("--ssh default ($SSH_AUTH_SOCK): SSH_AUTH_SOCK, a 0600 root socket, ssh-add -l lists the key, read-only, nothing in the layer or the store", async () => {
    const before = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = agentSock;
    try {
      const { out } = await buildText([
        "FROM base:1",
        `RUN --mount=type=ssh ${TOOLS} sh -c 'echo "$SSH_AUTH_SOCK" > /sock; stat -c "%n %F %a %u:%g" "$SSH_AUTH_SOCK" >> /sock; ${SSH_ADD} -l > /list; ${SSH_ADD} -D 2>/dev/null; echo "rm=$?" > /rm'`,
        "RUN ls -A / > /ls; ls /run 2>&1 > /run.ls || true",
      ].join("\n") + "\n", { ssh: [{ id: "default", paths: [] }] });
      expect(read(out, "sock")).toBe("/run/buildkit/ssh_agent.0\n/run/buildkit/ssh_agent.0 socket 600 0:0\n");
      expect(read(out, "list")).toContain(`${fingerprint} tsbuild-test (ED25519)`);
      expect(read(out, "rm")).toBe("rm=1\n"); // BuildKit's readOnlyAgent: removing keys not allowed
      expect(read(out, "ls")).not.toMatch(/^run$/m);
      expect(existsSync(join(out, "run"))).toBe(false);
      // the user's agent still has the key
      expect(spawnSync("ssh-add", ["-l"], { env: { SSH_AUTH_SOCK: agentSock } }).stdout.toString()).toContain(fingerprint);
      expect(await filesContaining(root, [privateKey, publicBlob])).toEqual([]);
      expect(await filesContaining(out, [privateKey, publicBlob])).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = before;
    }
  });

  it("--ssh ID=KEYFILE: one agent of the build's own; target, mode, uid, gid; the default target numbered by place; stopped after the build", async () => {
    const { out } = await buildText([
      "FROM base:1",
      `RUN --mount=type=ssh,id=deploy,target=/s/a,mode=0640,uid=12,gid=34 --mount=type=ssh,id=deploy,uid=5 ${TOOLS} sh -c 'echo "$SSH_AUTH_SOCK" > /sock; stat -c "%n %F %a %u:%g" /s/a /run/buildkit/ssh_agent.1 >> /sock; ${SSH_ADD} -l > /list'`,
      "RUN ls -A / > /ls",
    ].join("\n") + "\n", { ssh: [{ id: "deploy", paths: [keyFile, keyFile] }] });
    expect(read(out, "sock")).toBe("/s/a\n/s/a socket 640 12:34\n/run/buildkit/ssh_agent.1 socket 600 5:0\n");
    expect(read(out, "list")).toContain(`${fingerprint} tsbuild-test (ED25519)`);
    expect(read(out, "ls")).not.toMatch(/^(s|run)$/m);
    expect(leftoverAgents()).toEqual([]);
    expect(ownDirs()).toEqual([]);
    expect(await filesContaining(root, [privateKey, publicBlob])).toEqual([]);
  });

  it("an image's SSH_AUTH_SOCK is kept; a relative target is under WORKDIR", async () => {
    const { out } = await buildText([
      "FROM base:1",
      "WORKDIR /w",
      "ENV SSH_AUTH_SOCK=/x",
      `RUN --mount=type=ssh,target=agent ${TOOLS} sh -c 'echo "$SSH_AUTH_SOCK" > /sock; SSH_AUTH_SOCK=/w/agent ${SSH_ADD} -l > /list'`,
    ].join("\n") + "\n", { ssh: [{ id: "default", paths: [agentSock] }] });
    expect(read(out, "sock")).toBe("/x\n");
    expect(read(out, "list")).toContain(fingerprint);
    expect(existsSync(join(out, "w", "agent"))).toBe(false);
  });

  it("a required id not given fails at its line before the RUN; an optional one is skipped (SSH_AUTH_SOCK still set) and keyed apart", async () => {
    const e = await buildText("FROM base:1\nRUN echo a\nRUN --mount=type=ssh,id=deploy,required=true touch /ran\n", { ssh: [{ id: "default", paths: [agentSock] }] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BuildError);
    expect(e).toMatchObject({ position: { line: 3 }, message: expect.stringContaining("unset ssh forward key deploy") });
    const text = "FROM base:1\nRUN --mount=type=ssh sh -c 'echo \"$SSH_AUTH_SOCK\"; ls /run 2>&1; test -S \"$SSH_AUTH_SOCK\" && echo sock || echo none' > /o\n";
    const a = await buildText(text);
    expect(read(a.out, "o")).toBe("/run/buildkit/ssh_agent.0\nls: /run: No such file or directory\nnone\n");
    const b = await buildText(text, { ssh: [{ id: "default", paths: [agentSock] }] });
    expect(b.r.steps.find((s) => s.instruction.startsWith("RUN"))?.cached).toBe(false);
    expect(read(b.out, "o")).toBe("/run/buildkit/ssh_agent.0\nbuildkit\nsock\n");
  });

  it("--ssh values buildx refuses, refused before any step with its words; nothing left running", async () => {
    const refused = async (specs: { id: string; paths: string[] }[], message: string) => {
      const e = await buildText("FROM base:1\nRUN touch /x\n", { ssh: specs }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(SshSpecError);
      expect((e as Error).message).toContain(message);
    };
    await refused([{ id: "default", paths: [encFile] }], `failed to parse ${encFile}: ssh: this private key is passphrase protected`);
    await refused([{ id: "default", paths: [join(work, "nope")] }], `stat ${join(work, "nope")}: no such file or directory`);
    await refused([{ id: "default", paths: [agentSock, agentSock] }], "only single socket allowed");
    await refused([{ id: "default", paths: [keyFile, agentSock] }], "invalid combination of keys and sockets");
    await refused([{ id: "default", paths: [keyFile] }, { id: "default", paths: [agentSock] }], "invalid duplicate ID default");
    writeFileSync(join(work, "notkey"), "hello\n");
    await refused([{ id: "a", paths: [keyFile] }, { id: "b", paths: [join(work, "notkey")] }], "ssh: no key found");
    await refused([{ id: "x", paths: [join(work, "keys")] }], `failed to read ${join(work, "keys")}: read ${join(work, "keys")}: is a directory`);
    const before = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      await refused([{ id: "default", paths: [] }], "invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set");
    } finally {
      if (before !== undefined) process.env.SSH_AUTH_SOCK = before;
    }
    expect(leftoverAgents()).toEqual([]);
    expect(ownDirs()).toEqual([]);
  });

  it("SshAgents.socket(id): a host socket speaking the agent protocol (for git over ssh), gone after close()", async () => {
    const agents = await openSshAgents([{ id: "default", paths: [keyFile] }, { id: "user", paths: [agentSock] }]);
    try {
      const sock = await agents.socket("default");
      expect(sock).toBeDefined();
      expect(spawnSync("ssh-add", ["-l"], { env: { SSH_AUTH_SOCK: sock as string } }).stdout.toString()).toContain(fingerprint);
      expect(await agents.socket("user")).toBe(agentSock);
      expect(await agents.socket("nope")).toBeUndefined();
      await agents.close();
      expect(existsSync(sock as string)).toBe(false);
    } finally {
      await agents.close();
    }
  });

  it("a secret's value (file and env) is in no file of the store or the output", async () => {
    const value = `s3cr3t-${process.pid}-${Date.now()}`;
    const { out } = await buildText([
      "FROM base:1",
      "RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /n",
      "RUN --mount=type=secret,id=tok,env=TOK sh -c 'echo ${#TOK}' > /m",
    ].join("\n") + "\n", { secrets: new Map([["tok", Buffer.from(value)]]) });
    expect(read(out, "n").trim()).toBe(String(value.length));
    expect(read(out, "m").trim()).toBe(String(value.length));
    expect(await filesContaining(root, [value])).toEqual([]);
    expect(await filesContaining(out, [value])).toEqual([]);
  });
});
