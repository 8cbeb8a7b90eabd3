import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildHarness } from "./helpers/build-harness.js";
import { gitIn, makeGitFixtures, startGitDaemon, startGitHttp, type GitFixtures, type RunningServer } from "./helpers/git-servers.js";
import { filesContaining } from "./helpers/store-grep.js";
import { fetchGitSource } from "../src/remote/git-fetch.js";
import { parseGitSource } from "../src/remote/git-url.js";

const h = buildHarness("tsbuild-add-git-");
let fx: GitFixtures;
let daemon: RunningServer;
let http: RunningServer;

beforeAll(async () => {
  fx = makeGitFixtures(join(h.work, "git"));
  daemon = await startGitDaemon(fx.base);
  http = await startGitHttp(fx.base);
}, 60_000);
afterAll(async () => {
  await daemon?.stop();
  await http?.stop();
});

const mode = (p: string): string => (lstatSync(p).mode & 0o7777).toString(8);
const tree = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      out.push(r);
      if (lstatSync(p).isDirectory()) walk(p, r);
    }
  };
  walk(dir, "");
  return out;
};

describe("the git fetcher (remote/git-fetch.ts)", () => {
  it("fetches the default branch over git:// with its submodule, modes, symlink and the large file", async () => {
    const dest = mkdtempSync(join(h.work, "f-"));
    const scratch = mkdtempSync(join(h.work, "s-"));
    const r = await fetchGitSource(`${daemon.url}/repo.git`, dest, { scratch });
    expect(r.commit).toBe(fx.two);
    expect(r.ref).toBe("main");
    expect(tree(dest)).toEqual([".gitmodules", "a.txt", "big.bin", "dir", "dir/deep", "dir/deep/f", "link", "mods", "mods/sub", "mods/sub/.git", "mods/sub/s.txt", "run.sh"]);
    expect(mode(join(dest, "a.txt"))).toBe("644");
    expect(mode(join(dest, "run.sh"))).toBe("755");
    expect(mode(join(dest, "dir"))).toBe("755");
    expect(readlinkSync(join(dest, "link"))).toBe("a.txt");
    expect(readFileSync(join(dest, "mods/sub/s.txt"), "utf8")).toBe("subfile\n");
    expect(createHash("sha256").update(readFileSync(join(dest, "big.bin"))).digest("hex")).toBe(fx.bigSha256);
    // times are the checkout's, not the commit's (2020)
    expect(statSync(join(dest, "a.txt")).mtimeMs).toBeGreaterThan(Date.now() - 600_000);
  });
});

describe("git URLs (remote/git-url.ts)", () => {
  it("reads the fragment, scp and ssh forms, and the query form of dockerfile 1.18", () => {
    expect(parseGitSource("https://host/org/repo.git#v1.2:docs/x/")).toMatchObject({ remote: "https://host/org/repo.git", scheme: "https", host: "host", ref: "v1.2", subdir: "docs/x" });
    expect(parseGitSource("git@host.example:org/repo.git#main:../a")).toMatchObject({ remote: "git@host.example:org/repo.git", scheme: "ssh", host: "host.example", ref: "main", subdir: "a" });
    expect(parseGitSource("ssh://git@host:2222/org/repo.git")).toMatchObject({ remote: "ssh://git@host:2222/org/repo.git", scheme: "ssh", host: "host:2222", ref: "" });
    expect(parseGitSource("git://host/repo.git#abc")).toMatchObject({ scheme: "git", ref: "abc" });
    expect(parseGitSource("host/org/repo.git")).toMatchObject({ remote: "https://host/org/repo.git" });
    expect(parseGitSource("https://h/r.git?ref=main&subdir=d&checksum=abc&keep-git-dir&submodules=false")).toMatchObject({
      remote: "https://h/r.git", ref: "main", subdir: "d", checksum: "abc", keepGitDir: true, submodules: false,
    });
    expect(parseGitSource("https://h/r.git?tag=v1").ref).toBe("refs/tags/v1");
    expect(parseGitSource("https://h/r.git?branch=dev").ref).toBe("refs/heads/dev");
    expect(parseGitSource("git@h:r.git?commit=abc#main").checksum).toBe("abc");
    expect(() => parseGitSource("https://h/r.git?ref=a#b")).toThrow(/ref conflicts/);
    expect(() => parseGitSource("https://h/r.git?tag=a&branch=b")).toThrow(/branch conflicts with tag/);
    expect(() => parseGitSource("https://h/r.git?ref=")).toThrow(/has no value/);
    expect(() => parseGitSource("https://h/r.git?ref=a&ref=b")).toThrow(/multiple values/);
    expect(() => parseGitSource("https://h/r.git?depth=1")).toThrow(/unexpected query "depth"/);
    expect(() => parseGitSource("https://h/r.git?keep-git-dir=maybe")).toThrow(/invalid keep-git-dir/);
    expect(() => parseGitSource("https://h/r.git#-bad")).toThrow(/invalid git ref/);
  });
});

describe("ADD of a git repository", () => {
  const base = "FROM base:1\n";

  it("clones over smart http as BuildKit: REF:SUBDIR, no .git, modes, owners 0:0 (oracle: fixtures/git-oracle/add-git-local)", async () => {
    const { out } = await h.buildText(`${base}ADD ${http.url}/repo.git#other:dir /sub\nADD ${http.url}/repo.git /plain\n`);
    expect(tree(join(out, "sub"))).toEqual(["deep", "deep/f"]);
    expect(tree(join(out, "plain"))).toEqual([".gitmodules", "a.txt", "big.bin", "dir", "dir/deep", "dir/deep/f", "link", "mods", "mods/sub", "mods/sub/.git", "mods/sub/s.txt", "run.sh"]);
    expect(readFileSync(join(out, "plain/mods/sub/.git"), "utf8")).toMatch(/^gitdir: /);
    expect(mode(join(out, "plain/run.sh"))).toBe("755");
    expect(mode(join(out, "plain/a.txt"))).toBe("644");
    expect(mode(join(out, "plain"))).toBe("755");
    expect(lstatSync(join(out, "plain/a.txt")).uid).toBe(0);
    expect(readlinkSync(join(out, "plain/link"))).toBe("a.txt");
    expect(createHash("sha256").update(readFileSync(join(out, "plain/big.bin"))).digest("hex")).toBe(fx.bigSha256);
  }, 120_000);

  it("takes --chown/--chmod, tags, commit ids and the query form; submodules=false; mtime=commit", async () => {
    const { out } = await h.buildText(`${base}ADD --chown=1:2 --chmod=600 ${daemon.url}/repo.git#v1 /v1/
ADD ${daemon.url}/repo.git#${fx.one} /sha
ADD ${daemon.url}/repo.git#v1a /v1a
ADD "${http.url}/repo.git?branch=other&subdir=dir/deep&mtime=commit" /q
ADD ${http.url}/repo.git?submodules=false /nosub
ADD --link ${daemon.url}/repo.git#v1:dir /linked
`);
    expect(tree(join(out, "v1"))).toEqual(["a.txt", "dir", "dir/deep", "dir/deep/f", "link", "run.sh"]);
    const st = lstatSync(join(out, "v1/run.sh"));
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([1, 2, 0o600]);
    expect(tree(join(out, "sha"))).toEqual(tree(join(out, "v1a")));
    expect(tree(join(out, "q"))).toEqual(["f"]);
    expect(statSync(join(out, "q/f")).mtimeMs).toBe(Date.parse("2020-01-02T03:04:05Z"));
    expect(readdirSync(join(out, "nosub/mods/sub"))).toEqual([]);
    expect(tree(join(out, "linked"))).toEqual(["deep", "deep/f"]);
  }, 120_000);

  it("keeps .git with --keep-git-dir as BuildKit lays it out (oracle: fixtures/git-oracle/add-git-keep)", async () => {
    const { out } = await h.buildText(`${base}ADD --keep-git-dir=true ${daemon.url}/repo.git /k\nADD ${http.url}/repo.git?keep-git-dir=true#other:dir /kdir\n`);
    const g = join(out, "k/.git");
    expect(readFileSync(join(g, "HEAD"), "utf8").trim()).toBe(fx.two); // detached at the commit
    expect(readFileSync(join(g, "refs/heads/main"), "utf8").trim()).toBe(fx.two);
    expect(readFileSync(join(g, "refs/tags/main"), "utf8").trim()).toBe(fx.two);
    expect(readFileSync(join(g, "shallow"), "utf8").trim()).toBe(fx.two);
    expect(readFileSync(join(g, "config"), "utf8")).toContain(`url = ${daemon.url}/repo.git`);
    expect(readFileSync(join(g, "logs/HEAD"), "utf8")).toBe("");
    expect(() => lstatSync(join(g, "FETCH_HEAD"))).toThrow();
    expect(readdirSync(join(g, "modules/mods/sub")).length).toBeGreaterThan(0);
    expect(tree(join(out, "kdir"))).toEqual(["deep", "deep/f"]); // a subdir never keeps .git
  }, 120_000);

  it("checks --checksum and ?checksum= against the commit (a prefix is enough); a mismatch fails at the line", async () => {
    await h.buildText(`${base}ADD --checksum=${fx.two.slice(0, 7)} ${daemon.url}/repo.git#main /c\nADD ${daemon.url}/repo.git?checksum=${fx.one}#v1a /d\n`);
    await expect(h.buildText(`${base}ADD --checksum=${fx.one} ${daemon.url}/repo.git#main /c\n`)).rejects.toThrow(`expected checksum to match ${fx.one}, got ${fx.two}`);
    await expect(h.buildText(`${base}ADD --checksum=${fx.one} ${daemon.url}/repo.git#${fx.two} /c\n`)).rejects.toThrow(/expected checksum to match/);
    await expect(h.buildText(`${base}ADD --checksum=zz ${daemon.url}/repo.git /c\n`)).rejects.toThrow(/invalid checksum zz for Git URL/);
    await expect(h.buildText(`${base}ADD --checksum=abc ${daemon.url}/repo.git?checksum=abd /c\n`)).rejects.toThrow(/checksum mismatch/);
    await expect(h.buildText(`${base}ADD ${daemon.url}/repo.git#nope /c\n`)).rejects.toThrow(/does not contain ref nope/);
    // as in BuildKit a short commit id is no ref (it is looked up by name); it is fine as a checksum
    await expect(h.buildText(`${base}ADD ${daemon.url}/repo.git#${fx.one.slice(0, 7)} /c\n`)).rejects.toThrow(/does not contain ref/);
    await expect(h.buildText(`${base}ADD ${daemon.url}/repo.git#v1:run.sh /c\n`)).rejects.toThrow(/contains non-directory "run.sh"/);
  }, 120_000);

  it("is keyed by the resolved commit: a pinned commit is a hit with the server gone, a moved branch reruns", async () => {
    const srv = await startGitHttp(fx.base);
    try {
      const pinned = `${base}ADD ${srv.url}/repo.git#${fx.three} /p\n`;
      expect((await h.buildText(pinned)).r.steps.at(-1)!.cached).toBe(false);
      const branch = `${base}ADD ${srv.url}/repo.git#other /b\n`;
      const first = await h.buildText(branch);
      expect(first.r.steps.at(-1)!.cached).toBe(false);
      expect((await h.buildText(branch)).r.steps.at(-1)!.cached).toBe(true);
      // move the branch
      const w = join(fx.work, "repo");
      gitIn(w, ["checkout", "-q", "other"]);
      gitIn(w, ["rm", "-q", "o.txt"]);
      gitIn(w, ["commit", "-qm", "four"], "2021-01-01T00:00:00Z");
      gitIn(w, ["push", "-q", "origin", "other"]);
      gitIn(w, ["checkout", "-q", "main"]);
      const moved = await h.buildText(branch);
      expect(moved.r.steps.at(-1)!.cached).toBe(false);
      expect(() => lstatSync(join(moved.out, "b/o.txt"))).toThrow();
      await srv.stop();
      const again = await h.buildText(pinned);
      expect(again.r.steps.at(-1)!.cached).toBe(true);
      expect(readFileSync(join(again.out, "p/o.txt"), "utf8")).toBe("other\n");
    } finally {
      await srv.stop();
    }
  }, 180_000);

  it("sends GIT_AUTH_TOKEN / GIT_AUTH_HEADER (and their .<host> forms) to http remotes, and leaves them nowhere", async () => {
    const token = "tok-5d1e0c9a7b";
    const header = `basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
    const srv = await startGitHttp(fx.base, { authorization: header });
    try {
      const text = `${base}ADD --keep-git-dir ${srv.url}/repo.git#v1 /t\n`;
      await expect(h.buildText(text)).rejects.toThrow(/failed to fetch remote/);
      // while git runs, no command line (what ps shows) carries the token or the header
      const seen: string[] = [];
      const watch = setInterval(() => {
        for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
          try {
            const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
            if (cmd.startsWith("git") || cmd.includes("\0git\0")) seen.push(cmd);
          } catch { /* gone */ }
        }
      }, 5);
      const { out } = await h.buildText(text, { secrets: new Map([["GIT_AUTH_TOKEN", Buffer.from(token)]]) }).finally(() => clearInterval(watch));
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.filter((c) => c.includes(token) || c.includes(header.slice(6)))).toEqual([]);
      expect(readFileSync(join(out, "t/a.txt"), "utf8")).toBe("hello\n");
      const { out: out2 } = await h.buildText(`${base}ADD "${srv.url}/repo.git?branch=other&submodules=false" /t\n`, { secrets: new Map([[`GIT_AUTH_HEADER.127.0.0.1:${srv.port}`, Buffer.from(header)], ["GIT_AUTH_TOKEN", Buffer.from("wrong")]]) });
      expect(readFileSync(join(out2, "t/a.txt"), "utf8")).toBe("hello\n");
      // as in BuildKit the header is for the remote's URL alone: a submodule elsewhere on the host gets none
      await expect(h.buildText(`${base}ADD ${srv.url}/repo.git#other /t\n`, { secrets: new Map([["GIT_AUTH_TOKEN", Buffer.from(token)]]) })).rejects.toThrow(/failed to update submodules/);
      // a wrong token: the error names neither it nor the header
      const err = await h.buildText(`${base}ADD ${srv.url}/repo.git#main /t\n`, { secrets: new Map([["GIT_AUTH_TOKEN", Buffer.from("wrong-tok-77")]]) }).catch((e: Error) => e);
      expect(String((err as Error).message)).not.toContain("wrong-tok-77");
      expect(await filesContaining(h.root, [token, header, Buffer.from(header).toString("base64"), "wrong-tok-77"])).toEqual([]);
      expect(await filesContaining(out, [token, header])).toEqual([]);
    } finally {
      await srv.stop();
    }
  }, 180_000);

  it("masks a URL's credentials in the kept .git/config", async () => {
    const { out } = await h.buildText(`${base}ADD --keep-git-dir ${http.url.replace("http://", "http://user:pw-secret-1@")}/repo.git#v1 /u\n`);
    expect(readFileSync(join(out, "u/.git/config"), "utf8")).toContain(`url = ${http.url.replace("http://", "http://xxxxx:xxxxx@")}/repo.git`);
  }, 120_000);

  it("fails an ssh remote at its line while the build forwards no ssh agent; COPY of a git ref stays refused", async () => {
    await expect(h.buildText(`${base}ADD git@127.0.0.1:repo.git /s\n`)).rejects.toThrow(/needs an ssh agent \(--ssh default\)/);
    await expect(h.buildText(`${base}COPY ${http.url}/repo.git /s\n`)).rejects.toThrow(/source can't be a git ref for COPY/);
    await expect(h.buildText(`${base}ADD ${http.url}/repo.git ./ctxfile /s/\n`)).rejects.toThrow(/give the repository an ADD of its own/);
  }, 60_000);
});
