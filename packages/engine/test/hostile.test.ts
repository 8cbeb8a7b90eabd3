/**
 * Hostile inputs (issue 13): layers, archives, contexts and RUN steps made as an attacker would,
 * each run on both snapshotters and through every entry point where it applies. Every test checks
 * that a canary directory OUTSIDE the store and the context is untouched (names, types, modes,
 * owners, sizes, content hashes, link targets, nlink, inodes, mtimes and ctimes to the
 * nanosecond), and that the build either refuses the input with a typed error that names no host
 * file, or builds an image whose content is the in-root interpretation (symlinks resolved as if
 * the image root were `/`, as docker / BuildKit do) and holds nothing read from the canary.
 *
 * KNOWN_OPEN lists the tests that fail today because of a product bug (they run with `it.fails`):
 * when a fix lands, its tests turn red here; remove them from the set.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveImage, Store } from "@tsbuild/oci";
import { chooseSnapshotter } from "@tsbuild/snapshot";
import { push } from "@tsbuild/registry";
import { build } from "../src/index.js";
import { chainName } from "../src/step/snapshot-chain.js";
import { runCli } from "../../cli/test/helpers/run-cli.js";
import { startRegistry, type RegistryServer } from "../../registry/test/helpers/registry-server.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";
import { mountsUnder, runcContainers } from "./helpers/store-fixtures.js";
import { CANARY_NAME, CANARY_SECRET, canaryState, makeCanary, readTree, type TreeEntry } from "./helpers/canary.js";
import { dir, file, gzip, hardlink, opaque, symlink, tarOf, whiteout, type RawEntry } from "./helpers/hostile-tar.js";
import { dockerArchive, writeOciLayoutDir, type ArchiveFaults, type LayerBlob } from "./helpers/hostile-archives.js";

/**
 * Tests failing today because of a product bug, run with `it.fails`: a case name (all of its
 * entry points and snapshotters fail) or one test, `CASE @ ENTRY/SNAPSHOTTER`. Remove an entry when
 * its fix lands (its tests then fail here).
 */
export const KNOWN_OPEN = new Set<string>([
]);

const work = mkdtempSync(join(tmpdir(), "tsbuild-hostile-"));
/** the canary, by its absolute host path (what hostile inputs aim at) */
const CANARY = join(work, "canary");
/** the canary's path inside an image root: where an in-root interpretation puts what aims at CANARY */
const C = CANARY.slice(1);
const UP = "../".repeat(40);
const platform = { os: "linux", architecture: "amd64" };
const evilTar = tarOf([file("evil-payload", `${CANARY_SECRET} from a tar outside the context\n`)]);
const cliBin = fileURLToPath(new URL("../../cli/bin/tsbuild.js", import.meta.url));

type Tree = Map<string, TreeEntry>;
const isFile = (t: Tree, p: string, content?: string) => {
  const e = t.get(p);
  expect(e?.type, `${p} is a file`).toBe("file");
  if (content !== undefined) expect(e?.content, `${p}'s content`).toBe(content);
};
const isLink = (t: Tree, p: string, target?: string) => {
  const e = t.get(p);
  expect(e?.type, `${p} is a symlink`).toBe("symlink");
  if (target !== undefined) expect(e?.link).toBe(target);
};

// ---------------------------------------------------------------------------------------------
// The layers. Each is applied at the image root (FROM, load, import, registry), by ADD x.tar at
// `/`, or is a tar context on stdin (then COPY . /). `check` runs on the image when it was built;
// `must` says which outcome is the only right one.
// ---------------------------------------------------------------------------------------------
interface LayerCase {
  name: string;
  /** layers of entries (ADD, import and stdin get them concatenated into one tar) */
  layers?: RawEntry[][];
  /** or one layer given as bytes */
  blob?: LayerBlob;
  must?: "refuse" | "build";
  check?: (t: Tree) => void;
}

const sameName: RawEntry[] = [];
for (let i = 0; i < 300; i++) {
  const k = i % 4;
  sameName.push(k === 0 ? file("dup", `v${i}`) : k === 1 ? symlink("dup", `${CANARY}/file`) : k === 2 ? dir("dup", { mode: 0o777 }) : hardlink("dup", "anchor"));
}

const layerCases: LayerCase[] = [
  { name: "temp-name symlink then a setuid file (finding 1)", layers: [[dir("etc"), symlink("etc/motd.tsbuild-partial", `${CANARY}/file`), file("etc/motd", "motd\n", { mode: 0o4777 })]],
    check: (t) => isFile(t, "etc/motd", "motd\n") },
  { name: "temp-name trick in a gzip layer (finding 1)", blob: { gzip: true, bytes: gzip(tarOf([symlink("motd.tsbuild-partial", `${CANARY}/exec`), file("motd", "gz\n", { mode: 0o4777 })])) },
    check: (t) => isFile(t, "motd", "gz\n") },
  { name: "directory then a symlink of the same name (finding 2)", layers: [[dir("t", { mtime: 12345 }), symlink("t", CANARY)]], check: (t) => isLink(t, "t", CANARY) },
  { name: "symlink to the canary then a file below it", layers: [[symlink("a", CANARY), file("a/x", "x-payload")]], check: (t) => isFile(t, `${C}/x`, "x-payload") },
  { name: "relative symlink climbing out then a file below it", layers: [[symlink("a", `${UP}${C}`), file("a/x", "x-payload")]], check: (t) => isFile(t, `${C}/x`, "x-payload") },
  { name: "lower layer's symlink out, file below it in the upper layer", layers: [[symlink("a", CANARY)], [file("a/x", "x-payload")]], check: (t) => isFile(t, `${C}/x`, "x-payload") },
  { name: "entry name climbing with ..", layers: [[file(`${UP}${C}/dotdot`, "p")]], must: "refuse" },
  { name: "absolute entry name", layers: [[file(`${CANARY}/abs`, "abs")]], check: (t) => isFile(t, `${C}/abs`, "abs") },
  { name: "entry name climbing through a subdirectory", layers: [[dir("a"), file(`a/${UP}${C}/x`, "p")]], must: "refuse" },
  { name: "hard link to an absolute host path", layers: [[hardlink("h", `${CANARY}/file`)]] },
  { name: "hard link through a symlinked parent", layers: [[symlink("d", CANARY), hardlink("h", "d/file")]] },
  { name: "hard link with a climbing target", layers: [[hardlink("h", `${UP}${C}/file`)]], must: "refuse" },
  { name: "hard link to a directory", layers: [[dir("dd"), hardlink("h", "dd")]], must: "refuse" },
  { name: "hard link to a name a later entry makes a symlink out", layers: [[hardlink("h", "later"), symlink("later", CANARY)]] },
  { name: "hard link to a symlink pointing out, then a file over it", layers: [[symlink("s", `${CANARY}/file`), hardlink("hl", "s"), file("hl", "over")]],
    check: (t) => isFile(t, "hl", "over") },
  { name: "whiteout under a symlink to the canary", layers: [[symlink("w", CANARY), whiteout("w", "file"), whiteout("w", "sub")]] },
  { name: "whiteout under a lower layer's symlink", layers: [[symlink("w", CANARY)], [whiteout("w", "file"), whiteout("w", "sub")]] },
  { name: "opaque marker under a symlink to the canary", layers: [[symlink("o", CANARY), opaque("o")]] },
  { name: "opaque marker under a lower layer's symlink", layers: [[symlink("o", CANARY)], [opaque("o")]] },
  { name: "whiteout of ..", layers: [[dir("d"), whiteout("d", "..")]], must: "refuse" },
  { name: "whiteout in a climbing directory", layers: [[file(`${UP}${C}/.wh.file`, "")]], must: "refuse" },
  { name: "whiteout by an absolute name", layers: [[whiteout(CANARY, "file"), file("keep", "k")]] },
  { name: "opaque marker by an absolute name", layers: [[opaque(CANARY), file("keep", "k")]] },
  { name: "symlink loop then a file through it", layers: [[symlink("a", "b"), symlink("b", "a"), file("a/x", "p")]] },
  { name: "self-referencing symlink then a file through it", layers: [[symlink("s", "s"), file("s/x", "p")]] },
  { name: "symlink to the root's parent then a file through it", layers: [[symlink("up", ".."), file("up/x", "up")]], check: (t) => isFile(t, "x", "up") },
  { name: "chain of links climbing in steps", layers: [[dir("a"), symlink("a/b", "../.."), symlink("c", "a/b/a/b/a/b"), file(`c/${C}/x`, "chain")]],
    check: (t) => isFile(t, `${C}/x`, "chain") },
  { name: "path deeper than PATH_MAX", layers: [[file(`${`${"d".repeat(200)}/`.repeat(22)}f`, "deep")]] },
  { name: "255-byte names (finding 7)", layers: [[dir("n".repeat(255)), file(`${"n".repeat(255)}/${"f".repeat(255)}`, "long")]], must: "build",
    check: (t) => isFile(t, `${"n".repeat(255)}/${"f".repeat(255)}`, "long") },
  { name: "name with a newline", layers: [[file("new\nline", "nl")]], check: (t) => isFile(t, "new\nline", "nl") },
  { name: "NUL in the header's name field", layers: [[file(Buffer.from(`nul\0${UP}${C}/x`), "nul")]], check: (t) => isFile(t, "nul", "nul") },
  { name: "NUL in a PAX path", layers: [[file("ok", "p", { pax: { path: `ok\0${UP}${C}/x` } })]], must: "refuse" },
  { name: "invalid UTF-8 name", layers: [[file(Buffer.from([0x62, 0xff, 0xfe, 0x2f, 0x2e, 0x2e]), "bad")]] },
  { name: "PAX path overriding the name to escape", layers: [[file("innocent", "p", { pax: { path: `${UP}${C}/pax` } })]], must: "refuse" },
  { name: "PAX linkpath pointing out, then a file below the link", layers: [[symlink("innocent", "x", { pax: { linkpath: CANARY } }), file("innocent/pax", "pax")]],
    check: (t) => isFile(t, `${C}/pax`, "pax") },
  { name: "GNU long name escaping", layers: [[file("short", "p", { gnuLongName: `${UP}${C}/gnu-long` })]], must: "refuse" },
  { name: "GNU long link escaping (hard link)", layers: [[hardlink("gl", "x", { gnuLongLink: `${UP}${C}/file` })]], must: "refuse" },
  { name: "GNU long link symlink out, then a file below it", layers: [[symlink("gs", "x", { gnuLongLink: CANARY }), file("gs/x", "gnu")]],
    check: (t) => isFile(t, `${C}/x`, "gnu") },
  { name: "PAX size past the end of the layer", layers: [[file("big", "small", { pax: { size: "99999999" } })]], must: "refuse" },
  { name: "device nodes pointing at host devices", layers: [[dir("dev"), { name: "dev/null-ish", type: "3", devmajor: 1, devminor: 3 }, { name: "dev/disk", type: "4", devmajor: 8, devminor: 0 }]],
    check: (t) => expect(t.get("dev/null-ish")?.type).toBe("char") },
  { name: "file entry over a fifo (replaced, never opened)", layers: [[{ name: "ff", type: "6" }, file("ff", "over")]], check: (t) => isFile(t, "ff", "over") },
  { name: "file entry over a char device", layers: [[{ name: "cd", type: "3", devmajor: 1, devminor: 5 }, file("cd", "over")]], check: (t) => isFile(t, "cd", "over") },
  { name: "setuid and setgid entries", layers: [[file("su", "x", { mode: 0o4755 }), dir("sg", { mode: 0o2775 }), file("sg/x", "y", { mode: 0o6755 })]],
    check: (t) => {
      isFile(t, "su", "x");
      isFile(t, "sg/x", "y");
    } },
  { name: "user xattr on a symlink pointing out", layers: [[symlink("xl", `${CANARY}/file`, { pax: { "SCHILY.xattr.user.evil": "1" } })]] },
  { name: "trusted xattr on a symlink pointing out", layers: [[symlink("xt", CANARY, { pax: { "SCHILY.xattr.trusted.evil": "1" } })]] },
  { name: "file entry over a symlink to the canary (same layer)", layers: [[symlink("f", `${CANARY}/file`), file("f", "replaced", { mode: 0o666 })]],
    check: (t) => isFile(t, "f", "replaced") },
  { name: "file entry over a lower layer's symlink to the canary", layers: [[symlink("f", `${CANARY}/file`)], [file("f", "replaced", { mode: 0o4777 })]],
    check: (t) => isFile(t, "f", "replaced") },
  { name: "directory entry over a lower layer's symlink, then a file in it", layers: [[symlink("d", CANARY)], [dir("d", { mode: 0o700 }), file("d/x", "in")]],
    check: (t) => isFile(t, "d/x", "in") },
  { name: "directory entry over a symlink to the canary (mode, owner, time)", layers: [[symlink("d2", CANARY), dir("d2", { mode: 0o777, uid: 99, mtime: 5 })]],
    check: (t) => expect(t.get("d2")?.type).toBe("dir") },
  { name: "truncated body", blob: { gzip: false, bytes: tarOf([file("trunc", "x".repeat(1000), { cutBodyAt: 100 })]) }, must: "refuse" },
  { name: "size past the end", blob: { gzip: false, bytes: tarOf([file("past", "abc", { size: 1 << 30, cutBodyAt: 3 })]) }, must: "refuse" },
  { name: "header smuggled in a body the size hides", layers: [[file("outer", tarOf([file(`${UP}${C}/smuggled`, "p")], { end: false }), { size: 0 })]] },
  { name: "GNU sparse entry", layers: [[{ name: "sparse", type: "S", body: "sparse" }]], must: "refuse" },
  { name: "unknown entry type", layers: [[{ name: "weird", type: "Z", body: "zz" }]] },
  { name: "the same name many times", layers: [[file("anchor", "a"), ...sameName, file("dup", "final")]], check: (t) => isFile(t, "dup", "final") },
  { name: "directory swapped for a symlink mid-layer (finding 2)", layers: [[dir("x"), file("x/y", "1"), symlink("x", CANARY), file("x/y", "2")]], check: (t) => isFile(t, `${C}/y`, "2") },
  { name: "whiteout then recreate as a symlink out (finding 2 when flattened)", layers: [[dir("w2"), file("w2/f", "a")], [whiteout("", "w2"), symlink("w2", CANARY), file("w2/f", "b")]],
    check: (t) => isFile(t, `${C}/f`, "b") },
  { name: "root entry as a symlink out", layers: [[symlink("./", CANARY), file("r", "root")]], check: (t) => isFile(t, "r", "root") },
  { name: "root entry with odd mode and owner", layers: [[dir("./", { mode: 0o777, uid: 4242 }), file("r", "root")]], check: (t) => isFile(t, "r", "root") },
  { name: "file below a file", layers: [[file("pf", "p"), file("pf/x", "q")]] },
  { name: "symlink with a 5000-byte target", layers: [[symlink("lt", "a/".repeat(2500))]], check: (t) => isLink(t, "lt", "a/".repeat(2500)) },
  { name: "huge ids and every mode bit", layers: [[file("ids", "p", { mode: 0o7777, uid: 0o7777777, gid: 0o7777777 })]], check: (t) => isFile(t, "ids", "p") },
  { name: "expansion bomb (8 MiB of zeros in a small gzip)", blob: { gzip: true, bytes: gzip(tarOf([file("zeros", Buffer.alloc(8 << 20))])) },
    check: (t) => expect(t.get("zeros")?.size).toBe(8 << 20) },
];

function layerTars(c: LayerCase): { layers: LayerBlob[]; flat: Buffer } {
  if (c.blob) return { layers: [c.blob], flat: c.blob.bytes };
  const layers = (c.layers as RawEntry[][]).map((l) => ({ gzip: false, bytes: tarOf(l) }));
  return { layers, flat: tarOf((c.layers as RawEntry[][]).flat()) };
}

// ---------------------------------------------------------------------------------------------
// Build contexts (directories) with symlinks and patterns aimed at the canary.
// ---------------------------------------------------------------------------------------------
interface ContextCase {
  name: string;
  dockerfile: string;
  /** makes the context in `dir` (a sibling of the canary: "../canary" climbs to it) */
  make: (dir: string) => void;
  check?: (t: Tree) => void;
}
const leak = (d: string) => symlinkSync(CANARY, join(d, "leakdir"));
const contextCases: ContextCase[] = [
  { name: "COPY leakdir/* with leakdir a symlink out (finding 4)", dockerfile: "FROM scratch\nCOPY leakdir/* /x/\n", make: leak },
  { name: "COPY a glob through a relative symlink out (finding 4)", dockerfile: "FROM scratch\nCOPY rel/* /x/\n", make: (d) => symlinkSync("../../canary", join(d, "rel")) },
  { name: "COPY a glob that matches a symlink out", dockerfile: "FROM scratch\nCOPY le* /x/\n", make: leak },
  { name: "COPY of a symlink to a host file", dockerfile: "FROM scratch\nCOPY link /x\n", make: (d) => symlinkSync(`${CANARY}/file`, join(d, "link")) },
  { name: "COPY through a symlinked directory", dockerfile: "FROM scratch\nCOPY leakdir/file /x\n", make: leak },
  { name: "COPY of a symlinked directory", dockerfile: "FROM scratch\nCOPY leakdir /x/\n", make: leak },
  { name: "COPY . with symlinks out", dockerfile: "FROM scratch\nCOPY . /x/\n", make: (d) => {
    leak(d);
    symlinkSync("../../canary/file", join(d, "rel"));
  }, check: (t) => isLink(t, "x/leakdir", CANARY) },
  { name: "ADD of a symlink to a tar outside", dockerfile: "FROM scratch\nADD link.tar /x/\n", make: (d) => symlinkSync(`${CANARY}/evil.tar`, join(d, "link.tar")) },
  { name: "ADD through a symlinked directory to a tar outside", dockerfile: "FROM scratch\nADD leakdir/evil.tar /x/\n", make: leak },
  { name: ".dockerignore exceptions naming symlinks out", dockerfile: "FROM scratch\nCOPY . /x/\n", make: (d) => {
    leak(d);
    symlinkSync("../../canary", join(d, "rel"));
    writeFileSync(join(d, ".dockerignore"), "*\n!leakdir\n!leakdir/**\n!rel/**\n!Dockerfile\n");
  } },
  { name: ".dockerignore exceptions below a symlink out, glob COPY (finding 4)", dockerfile: "FROM scratch\nCOPY leakdir/sub/* /x/\n", make: (d) => {
    leak(d);
    writeFileSync(join(d, ".dockerignore"), "leakdir\n!leakdir/sub/**\n");
  } },
  { name: "context with a symlink loop", dockerfile: "FROM scratch\nCOPY . /x/\n", make: (d) => {
    symlinkSync("loop2", join(d, "loop1"));
    symlinkSync("loop1", join(d, "loop2"));
  }, check: (t) => isLink(t, "x/loop1", "loop2") },
  { name: "COPY of a looping symlink", dockerfile: "FROM scratch\nCOPY loop1/x /x\n", make: (d) => {
    symlinkSync("loop2", join(d, "loop1"));
    symlinkSync("loop1", join(d, "loop2"));
  } },
  // issue 15: COPY --parents (and its /./ pivot) and --exclude
  { name: "COPY --parents with the /./ pivot in a symlink out", dockerfile: "FROM scratch\nCOPY --parents leakdir/./file /x/\n", make: leak },
  { name: "COPY --parents with the /./ pivot after a glob matching a symlink out", dockerfile: "FROM scratch\nCOPY --parents */./* /x/\n", make: leak },
  { name: "COPY --parents with the /./ pivot in a relative symlink out", dockerfile: "FROM scratch\nCOPY --parents rel/./sub/* /x/\n",
    make: (d) => symlinkSync("../../canary", join(d, "rel")) },
  { name: "COPY --parents with a climbing pattern", dockerfile: "FROM scratch\nCOPY --parents ../../canary/file real/../../../canary/./sub/** /x/\n",
    make: (d) => mkdirSync(join(d, "real")) },
  { name: "COPY --parents of a glob below a symlink out", dockerfile: "FROM scratch\nCOPY --parents leakdir/** /x/\n", make: leak },
  { name: "COPY --parents of the context with symlinks out", dockerfile: "FROM scratch\nCOPY --parents ./* /x/\n", make: (d) => {
    leak(d);
    symlinkSync("../../canary/file", join(d, "rel"));
  }, check: (t) => isLink(t, "x/leakdir", CANARY) },
  { name: "COPY --exclude of a symlinked directory", dockerfile: "FROM scratch\nCOPY --exclude=nothing leakdir /x/\n", make: leak },
  { name: "COPY --exclude with an exception below a symlink out", dockerfile: "FROM scratch\nCOPY --exclude=* --exclude=!leakdir/** . /x/\n", make: leak },
  { name: "ADD --exclude through a symlinked directory to a tar outside", dockerfile: "FROM scratch\nADD --exclude=nothing leakdir/evil.tar /x/\n", make: leak },
];

// ---------------------------------------------------------------------------------------------
// RUN steps (on the busybox base) that plant symlinks out for what runs after them.
// ---------------------------------------------------------------------------------------------
interface RunCase {
  name: string;
  dockerfile: string;
  secrets?: Map<string, Buffer>;
  check?: (t: Tree) => void;
}
const runCases: RunCase[] = [
  { name: "cache mount stub's parent swapped for a symlink out",
    dockerfile: `FROM base:1\nRUN mkdir /a\nRUN --mount=type=cache,target=/a/b/c sh -c 'mv /a /a.old && ln -s ${CANARY} /a'\n` },
  { name: "tmpfs mount stub's parent swapped for a symlink out",
    dockerfile: `FROM base:1\nRUN mkdir /t\nRUN --mount=type=tmpfs,target=/t/b/c sh -c 'mv /t /t.old && ln -s ${CANARY} /t'\n` },
  { name: "secret mount stub's parent swapped for a symlink out (finding 3, CVE-2024-23652)", secrets: new Map([["s", Buffer.from("shh")]]),
    dockerfile: `FROM base:1\nRUN mkdir /s\nRUN --mount=type=secret,id=s,target=/s/b/empty sh -c 'mv /s /s.old && ln -s ${CANARY} /s'\n` },
  { name: "/etc replaced with a symlink out: hosts, resolv.conf, hostname stubs (finding 3)",
    dockerfile: `FROM base:1\nRUN mv /etc /etc.old && ln -s ${CANARY} /etc\n` },
  { name: "RUN-made symlink at a later COPY's directory destination",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /dst\nCOPY f /dst/\n`, check: (t) => isFile(t, `${C}/f`, "copied\n") },
  { name: "RUN-made symlink at a later COPY's file destination",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY}/file /dstfile\nCOPY f /dstfile\n` },
  { name: "RUN-made symlink under a later COPY --chown --chmod",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /cd\nCOPY --chown=7:7 --chmod=777 f /cd/\n` },
  { name: "RUN-made symlink at a later ADD x.tar destination",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /adst\nADD x.tar /adst/\n` },
  { name: "WORKDIR through a RUN-made symlink out",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /w\nWORKDIR /w/new\nRUN pwd\n` },
  { name: "cache mount target through a RUN-made symlink out",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /cache\nRUN --mount=type=cache,target=/cache/b/c true\n` },
  { name: "COPY --from a stage's symlink out",
    dockerfile: `FROM base:1 AS s\nRUN ln -s ${CANARY} /a\nFROM scratch\nCOPY --from=s /a/ /x/\n` },
  { name: "bind mount of a context symlink out, copied into the layer",
    dockerfile: "FROM base:1\nRUN --mount=type=bind,source=leakdir,target=/m cp -r /m /out || true\n" },
  { name: "rw bind mount of a context symlink out, written to",
    dockerfile: "FROM base:1\nRUN --mount=type=bind,source=leakdir,target=/m,rw=true sh -c 'echo pwned > /m/file; rm -rf /m/sub /m/b' || true\n" },
  // issue 15: COPY --link's layer applied onto a root with symlinks on its paths (BuildKit's merge: the layer's directories replace them)
  { name: "COPY --link onto a RUN-made symlink out (directory destination)",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /ldst\nCOPY --link f /ldst/\n`, check: (t) => {
      expect(t.get("ldst")?.type).toBe("dir");
      isFile(t, "ldst/f", "copied\n");
    } },
  { name: "COPY --link through a RUN-made symlink out, deeper",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /la\nCOPY --link f /la/b/c\n`, check: (t) => isFile(t, "la/b/c", "copied\n") },
  { name: "COPY --link onto a relative symlink climbing out",
    dockerfile: `FROM base:1\nRUN ln -s ${UP}${C} /lrel\nCOPY --link f /lrel/\n`, check: (t) => isFile(t, "lrel/f", "copied\n") },
  { name: "COPY --link onto a RUN-made symlink to a host file",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY}/file /lfile\nCOPY --link f /lfile\n`, check: (t) => isFile(t, "lfile", "copied\n") },
  { name: "ADD --link x.tar onto a RUN-made symlink out",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /lad\nADD --link x.tar /lad/\n`, check: (t) => isFile(t, "lad/from-tar", "t\n") },
  { name: "COPY --parents with the /./ pivot onto a RUN-made symlink out",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /pd\nCOPY --parents sub/./inner.txt /pd/\n`, check: (t) => isFile(t, `${C}/inner.txt`, "inner\n") },
  { name: "COPY --exclude onto a RUN-made symlink out",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /ed\nCOPY --exclude=*.txt sub /ed/\n`, check: (t) => {
      isFile(t, `${C}/keep.bin`, "keep\n");
      expect(t.has(`${C}/inner.txt`)).toBe(false);
    } },
  { name: "COPY heredoc onto a RUN-made symlink out",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY} /hd\nCOPY <<EOF /hd/\nheredoc\nEOF\n`, check: (t) => isFile(t, `${C}/EOF`, "heredoc\n") },
  { name: "COPY heredoc named with .. over a RUN-made symlink to a host file",
    dockerfile: `FROM base:1\nRUN ln -s ${CANARY}/file /hf\nCOPY <<../../hf /\nover\n../../hf\n`, check: (t) => isFile(t, "hf", "over\n") },
  { name: "#! heredoc writing to its read-only /dev/pipes",
    dockerfile: `FROM base:1\nRUN <<pwn.sh\n#!/bin/sh\nln -s ${CANARY} /dev/pipes/l; echo x > /dev/pipes/pwn.sh; rm -rf /dev/pipes/*; echo ran > /ran\npwn.sh\n`,
    check: (t) => isFile(t, "ran", "ran\n") },
  // runc makes /dev/ptmx, /dev/fd, /dev/std* through the host's resolution of ROOT/dev (finding 9)
  { name: "RUN on an image whose /dev is a symlink out (finding 9)",
    dockerfile: `FROM base:1\nADD devlink.tar /\nRUN echo ran > /ran\n` },
  { name: "RUN on an image whose /dev is a relative symlink climbing out (finding 9)",
    dockerfile: `FROM base:1\nADD devrel.tar /\nRUN echo ran > /ran\n` },
  { name: "#! heredoc and a mount below /dev in an image whose /dev is a symlink out (finding 9)",
    dockerfile: `FROM base:1\nADD devlink.tar /\nRUN --mount=type=tmpfs,target=/dev/pipes/deeper/t <<x.sh\n#!/bin/sh\necho ran > /ran\nx.sh\n` },
  { name: "RUN on an image whose /dev is a symlink made by COPY of a context link (finding 9)",
    dockerfile: "FROM base:1\nCOPY devdir/ /\nRUN echo ran > /ran\n" },
  { name: "RUN on an image whose /sys is a symlink out",
    dockerfile: `FROM base:1\nADD syslink.tar /\nRUN echo ran > /ran\n` },
  // issue 15: a cache seeded from a hostile stage (RUN --mount=type=cache,from=)
  { name: "cache seeded from a stage: source a symlink out (dangling inside the stage)",
    dockerfile: `FROM base:1 AS s\nRUN ln -s ${CANARY} /out\nFROM base:1\nRUN --mount=type=cache,id=hs1,from=s,source=out,target=/c ls /c\n` },
  { name: "cache seeded from a stage: symlinks out at and below the source, hard links, written through",
    dockerfile: [
      "FROM base:1 AS s",
      `RUN mkdir -p ${CANARY}/sub /d && echo in-root > ${CANARY}/file && ln -s ${CANARY} /out && ln -s ${CANARY}/file /d/f && ln -s ${UP}${C} /d/up && ln /bin/busybox /d/hard && ln -s ${CANARY} /cache`,
      "FROM base:1",
      "RUN --mount=type=cache,id=hs2,from=s,source=out,target=/c sh -c 'echo pwned > /c/file; rm -rf /c/sub; ln -s / /c/root' || true",
      "RUN --mount=type=cache,id=hs2,from=s,source=d,target=/c sh -c 'echo pwned > /c/f; echo pwned > /c/up/file; rm -rf /c/up/sub; echo x >> /c/hard' || true",
      "RUN --mount=type=cache,id=hs2,from=s,source=d/up,target=/c sh -c 'echo pwned > /c/file' || true",
      "RUN --mount=type=cache,id=hs3,from=s,target=/c,uid=7 sh -c 'echo pwned > /c/file; ls -la /c' || true",
      "RUN --mount=type=cache,id=hs2,from=s,target=/c sh -c 'cat /c/d/f /c/out/file; ls -la /c/d' || true",
    ].join("\n") + "\n" },
  { name: "cache seeded from a stage while a parallel RUN holding it swaps its paths for symlinks out",
    dockerfile: [
      "FROM base:1 AS s",
      "RUN mkdir -p /a /b/x && echo b > /b/x/f",
      "FROM base:1 AS swapper",
      `RUN --mount=type=cache,id=hs4,from=s,target=/c sh -c 'i=0; while [ $i -lt 400 ]; do rm -rf /c/b; ln -s ${CANARY} /c/b; rm /c/b; mkdir -p /c/b; ln -s ${CANARY} /c/b/x; rm /c/b/x; mkdir /c/b/x; ln -s ${CANARY}/file /c/b/x/f; i=$((i+1)); done; echo swapped > /done'`,
      "FROM base:1 AS seeder",
      ...Array.from({ length: 6 }, (_, n) => `RUN --mount=type=cache,id=hs4,from=s,source=${n % 2 ? "b/x" : "b"},target=/c sh -c 'ls /c; echo pwned > /c/f; rm -rf /c/*' || true`),
      "RUN echo seeded > /done",
      "FROM scratch",
      "COPY --from=swapper /done /swapper",
      "COPY --from=seeder /done /seeder",
    ].join("\n") + "\n",
    check: (t) => {
      isFile(t, "swapper", "swapped\n");
      isFile(t, "seeder", "seeded\n");
    } },
  // issue 15: RUN --mount=type=secret,env= (the value is the canary's secret: it must show nowhere)
  { name: "secret with a NUL byte in the environment (finding 8)", secrets: new Map([["s", Buffer.from(`x\0${CANARY_SECRET}`)]]),
    dockerfile: "FROM base:1\nRUN --mount=type=secret,id=s,env=S true\n" },
  { name: "secret in the environment of a RUN that fails", secrets: new Map([["s", Buffer.from(CANARY_SECRET)]]),
    dockerfile: "FROM base:1\nRUN --mount=type=secret,id=s,env=S [\"/nonexistent\"]\n" },
];

// ---------------------------------------------------------------------------------------------
// Archives for `tsbuild load`: run as a separate process (a crash must not take the suite down).
// ---------------------------------------------------------------------------------------------
interface ArchiveCase {
  name: string;
  /** writes the archive under `dir`, returns its path */
  make: (dir: string) => string;
  /** load must refuse it (it cannot make a whole, correct image) */
  refuseAtLoad?: boolean;
}
/** what node prints when it dies of an unhandled error */
const CRASH = /Unhandled 'error' event|Emitted 'error' event/;
const plainLayer: LayerBlob = { gzip: false, bytes: tarOf([file("hello", "hello\n")]) };
const archiveCases: ArchiveCase[] = [
  { name: "OCI layout with a missing layer blob (finding 6)", refuseAtLoad: true, make: (d) => {
    writeOciLayoutDir(join(d, "oci"), "arch:1", [plainLayer], { missingLayer: 0 });
    return join(d, "oci");
  } },
  { name: "docker archive with a missing layer", refuseAtLoad: true, make: (d) => {
    writeFileSync(join(d, "a.tar"), dockerArchive("arch:1", [plainLayer], { missingLayer: 0 }));
    return join(d, "a.tar");
  } },
  { name: "docker archive whose layer does not match the diff id (finding 6)", refuseAtLoad: true, make: (d) => {
    writeFileSync(join(d, "a.tar"), dockerArchive("arch:1", [plainLayer], { wrongDiffId: `sha256:${"ab".repeat(32)}` }));
    return join(d, "a.tar");
  } },
  { name: "OCI layout whose blob is a symlink to a host file", make: (d) => {
    writeOciLayoutDir(join(d, "oci"), "arch:1", [plainLayer]);
    symlinkSync(`${CANARY}/file`, join(d, "oci", "blobs", "sha256", "cd".repeat(32)));
    return join(d, "oci");
  } },
  { name: "docker archive with member names climbing out", make: (d) => {
    writeFileSync(join(d, "a.tar"), dockerArchive("arch:1", [plainLayer], { layerNames: [`${UP}${C}/layer.tar`], extra: [symlink(`${UP}${C}/link`, CANARY)] }));
    return join(d, "a.tar");
  } },
  { name: "docker archive naming a host file as its layer", refuseAtLoad: true, make: (d) => {
    writeFileSync(join(d, "a.tar"), dockerArchive("arch:1", [plainLayer], { layerNames: [`${CANARY}/evil.tar`], missingLayer: 0 }));
    return join(d, "a.tar");
  } },
];

// ---------------------------------------------------------------------------------------------
// Running things and judging what happened.
// ---------------------------------------------------------------------------------------------
type Kind = "overlay" | "copy";
const KINDS: Kind[] = ["overlay", "copy"];
type Outcome = { built: true; tree: Tree; out: string } | { built: false; error: string; typed: boolean; out: string };

const ERRNO = /^E[A-Z]+:/;
/** A refusal must be a typed error (one of ours, or an errno with its code) and name nothing of the canary. */
function fromError(e: unknown, out = ""): Outcome {
  if (!(e instanceof Error)) return { built: false, error: String(e), typed: false, out };
  const generic = ["Error", "TypeError", "RangeError", "ReferenceError", "SyntaxError", "AssertionError"].includes(e.name);
  const errno = typeof (e as NodeJS.ErrnoException).code === "string" && ERRNO.test(e.message);
  return { built: false, error: `${e.name}: ${e.message}`, typed: !generic || errno, out };
}

/** The image's root file system as the snapshotter shows it to a RUN step (the top snapshot, viewed). */
async function imageTree(root: string, kind: Kind, name: string): Promise<Tree> {
  const store = await Store.open(root);
  const record = await store.images.get(name);
  if (!record) throw new Error(`image ${name} is not in the store`);
  const target = record.target;
  const img = await resolveImage(store.content, target, platform);
  let top: string | undefined;
  for (const d of img.config.rootfs.diff_ids.slice(0, img.manifest.layers.length)) top = chainName(top, d);
  if (top === undefined) return new Map();
  const s = await chooseSnapshotter(join(root, "snapshots"), kind);
  const key = `hostile-view-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const v = await s.view(key, top);
  try {
    return readTree(v.root, { skip: (rel) => rel === "bin" || rel === "proc" || rel === "sys" || rel === "dev/pts" });
  } finally {
    await s.remove(key);
  }
}

let counter = 0;
async function libBuild(root: string, kind: Kind, dockerfile: string, context: string, more: { insecure?: string[]; secrets?: Map<string, Buffer> } = {}): Promise<Outcome> {
  const tag = `hostile/out:${++counter}`;
  let out = "";
  try {
    await build({
      context, dockerfileText: dockerfile, root, snapshotter: kind, tags: [tag], platform, noCache: true,
      ...(more.insecure ? { insecureRegistries: more.insecure } : {}), ...(more.secrets ? { secrets: more.secrets } : {}),
      onEvent: (e) => {
        if (e.type === "warning") out += `${e.message}\n`;
        else if ("data" in e && typeof e.data === "string") out += e.data;
      },
    });
  } catch (e) {
    return fromError(e, out);
  }
  return { built: true, tree: await imageTree(root, kind, tag), out };
}

/** `tsbuild build` in-process with a tar context on stdin (its Dockerfile from -f). */
async function stdinBuild(root: string, kind: Kind, tar: Buffer, dockerfile: string): Promise<Outcome> {
  const tag = `hostile/stdin:${++counter}`;
  const r = await runCli(["build", "--root", root, "--snapshotter", kind, "--no-cache", "--progress", "plain", "-t", tag, "-f", dockerfile, "-"],
    { stdin: tar, env: { TSBUILD_DEBUG: "1" } });
  if (r.code === 0) return { built: true, tree: await imageTree(root, kind, tag), out: r.out + r.err };
  return cliRefusal(r.err, r.out + r.err);
}

/** A CLI failure: typed unless its stack (TSBUILD_DEBUG) starts with a generic error. */
function cliRefusal(err: string, out: string): Outcome & { built: false } {
  const stackTop = /^\s*(\w+): (.*)$/m.exec(err.split("\n").find((l) => /^\w*Error: /.test(l)) ?? "");
  const name = stackTop?.[1] ?? "";
  const generic = ["Error", "TypeError", "RangeError", "ReferenceError", "SyntaxError"].includes(name) && !ERRNO.test(stackTop?.[2] ?? "");
  return { built: false, error: err.trim(), typed: !generic, out };
}

function runProcess(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliBin, ...args], { env: { ...process.env, TSBUILD_DEBUG: "1" }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 99) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const escapeRe = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** the canary's own host path, not as the tail of an in-root or in-context path */
const HOST_CANARY = new RegExp(`(?<![\\w/.-])${escapeRe(CANARY)}`);

/**
 * What every outcome must satisfy, whatever the case. `input` is the text of what the test gave
 * tsbuild (tar bytes, Dockerfile, link targets): an error or an image may name a canary path the
 * input named, never one only a look at the host could tell (a file-name oracle).
 */
function judge(o: Outcome, must: "refuse" | "build" | undefined, input: string): void {
  if (process.env.HOSTILE_DEBUG) console.log(o.built ? `BUILT ${[...o.tree.keys()].filter((k) => !k.startsWith("bin/")).slice(0, 30).join(" | ")}` : `REFUSED ${o.error.slice(0, 800)}`);
  const seen = o.built ? o.out : `${o.error}\n${o.out}`;
  expect(`${seen}\n${o.built ? [...o.tree.keys()].join("\n") : ""}`, "output, errors and image name nothing read from the canary").not.toContain(CANARY_NAME);
  expect(seen).not.toContain(CANARY_SECRET);
  for (const p of canaryPaths) {
    if (!input.includes(`canary/${p}`)) expect(seen, `names canary/${p}, which only the host could tell`).not.toContain(`canary/${p}`);
  }
  if (!o.built) {
    expect(o.typed, `a typed error, not: ${o.error}`).toBe(true);
    if (ERRNO.test(o.error.replace(/^\w+: /, ""))) expect(o.error, "a system error names no host path").not.toMatch(HOST_CANARY);
    expect(must, `refused: ${o.error}`).not.toBe("build");
    return;
  }
  expect(must, "built what must be refused").not.toBe("refuse");
  for (const [p, e] of o.tree) expect(e.content ?? "", `${p} holds nothing of the canary`).not.toContain(CANARY_SECRET);
}

/**
 * What a Dockerfile and its context tell by themselves: the context's names, link targets and small
 * files, and the Dockerfile with each context symlink's name replaced by its target (so
 * `leakdir/file` with leakdir -> CANARY names canary/file, but `leakdir/*` names no file in it).
 */
function inputText(dockerfile: string, dir: string): string {
  const tree = [...readTree(dir)];
  let resolved = dockerfile;
  for (const [p, e] of tree) if (e.link) resolved = resolved.split(p).join(e.link);
  return [dockerfile, resolved, ...tree.map(([p, e]) => `${p} ${e.link ?? ""} ${e.content ?? ""}`)].join("\n");
}

function test(id: string, fn: () => Promise<void>): void {
  if (KNOWN_OPEN.has(id) || KNOWN_OPEN.has(id.slice(0, id.lastIndexOf(" @ ")))) it.fails(id, fn);
  else it(id, fn);
}

/** Runs `fn` and says the canary is exactly as it was (the lines that changed, when it is not). */
async function guarded(fn: () => Promise<void>): Promise<void> {
  const before = canaryState(CANARY);
  try {
    await fn();
  } finally {
    const after = canaryState(CANARY);
    const changed = [...before.filter((l) => !after.includes(l)).map((l) => `- ${l}`), ...after.filter((l) => !before.includes(l)).map((l) => `+ ${l}`)];
    if (process.env.HOSTILE_DEBUG && changed.length) console.log(`CANARY CHANGED\n${changed.join("\n")}`);
    expect(changed, "the canary outside the store is untouched").toEqual([]);
  }
}

// ---------------------------------------------------------------------------------------------
// Set-up: the canary, one store per entry point, the hostile images loaded, imported and pushed.
// ---------------------------------------------------------------------------------------------
const stores = { oci: join(work, "s-oci"), docker: join(work, "s-docker"), import: join(work, "s-import"), registry: join(work, "s-registry"), add: join(work, "s-add"), stdin: join(work, "s-stdin"), ctx: join(work, "s-ctx"), run: join(work, "s-run") };
const emptyCtx = join(work, "empty-ctx");
const stdinDockerfile = join(work, "Dockerfile.stdin");
const slug = (i: number) => `case${i}`;
const loads = new Map<string, { code: number; err: string }>();
let registry: RegistryServer | undefined;
/** the context of the link entry: tree/NAME/link-payload for every top-level name a hostile layer uses, and the canary's in-root path */
const linkCtx = join(work, "link-ctx");
const linkNames = [...new Set([
  C,
  ...layerCases.flatMap((c) => (c.layers ?? []).flat().map((e) => (typeof e.name === "string" ? e.name : "").replace(/^[./]+/, "").split("/")[0] ?? "")),
])].filter((n) => n === C || (/^[\w.-]{1,255}$/.test(n) && n !== "." && n !== ".." && !n.startsWith(".wh.")));
/** serves each layer case's flat tar as /caseN.tar (ADD --unpack=true of a download) */
let http: Server | undefined;
let downloads = "";

/** every path in the canary ("file", "sub/deeper", …) */
let canaryPaths: string[] = [];

beforeAll(async () => {
  makeCanary(CANARY, evilTar);
  canaryPaths = canaryState(CANARY).map((l) => l.slice(0, l.indexOf(" "))).filter((p) => p !== ".");
  mkdirSync(emptyCtx);
  writeFileSync(stdinDockerfile, "FROM scratch\nCOPY . /\n");
  const inputs = join(work, "inputs");
  mkdirSync(inputs);
  const staging = await Store.open(stores.oci);
  registry = await startRegistry();
  const served = new Map(layerCases.map((c, i) => [`/${slug(i)}.tar`, layerTars(c).flat]));
  http = createServer((req, res) => {
    const body = served.get(req.url ?? "");
    res.writeHead(body ? 200 : 404, { "content-type": "application/octet-stream" });
    res.end(body ?? "");
  });
  await new Promise<void>((resolve) => http?.listen(0, "127.0.0.1", resolve));
  downloads = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  for (const n of linkNames) {
    mkdirSync(join(linkCtx, "tree", n), { recursive: true });
    writeFileSync(join(linkCtx, "tree", n, "link-payload"), "link\n");
  }
  for (const [i, c] of layerCases.entries()) {
    const { layers, flat } = layerTars(c);
    const ociDir = join(inputs, `${slug(i)}-oci`);
    writeOciLayoutDir(ociDir, `${slug(i)}:1`, layers);
    const dockerTar = join(inputs, `${slug(i)}-docker.tar`);
    writeFileSync(dockerTar, dockerArchive(`${slug(i)}:1`, layers));
    const flatTar = join(inputs, `${slug(i)}-flat.tar`);
    writeFileSync(flatTar, flat);
    const addCtx = join(inputs, `${slug(i)}-add`);
    mkdirSync(addCtx);
    writeFileSync(join(addCtx, "x.tar"), flat);
    for (const [via, args] of [["oci", ["load", "--root", stores.oci, "-i", ociDir]], ["docker", ["load", "--root", stores.docker, "-i", dockerTar]],
      ["import", ["import", "--root", stores.import, flatTar, `${slug(i)}:1`]]] as const) {
      const r = await runCli([...args], { env: { TSBUILD_DEBUG: "1" } });
      loads.set(`${i} ${via}`, { code: r.code, err: r.err });
    }
    if (loads.get(`${i} oci`)?.code === 0) {
      const record = await staging.images.get(`${slug(i)}:1`);
      if (!record) throw new Error(`${slug(i)}:1 was not loaded`);
      await push(staging, record.target, `${registry.host}/hostile/${slug(i)}:1`, { insecureRegistries: [registry.host] });
    }
  }
  await storeBusyboxBase(stores.run, "base:1", join(work, "busybox"));
}, 180_000);

beforeEach(() => {
  // a test that touched the canary leaves it broken: every test starts from a fresh one
  makeCanary(CANARY, evilTar);
});

afterAll(async () => {
  await registry?.stop();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
  const leftovers = mountsUnder(work);
  const containers = Object.values(stores).flatMap((s) => {
    try {
      return runcContainers(s);
    } catch {
      return [];
    }
  });
  rmSync(work, { recursive: true, force: true });
  expect(leftovers).toEqual([]);
  expect(containers).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------
/**
 * The entry points a hostile layer goes through: loaded, imported or pulled as a base image; a tar
 * in the context unpacked by ADD; a tar context on stdin; a download ADD --unpack=true unpacks
 * (served on 127.0.0.1); and the base image under a COPY --link layer whose every top-level
 * directory is one of the names the layer makes (applied onto the hostile root: a symlink or a
 * file there is replaced by the layer's directory, as BuildKit's merge does).
 */
const ENTRIES = ["from-oci", "from-docker", "from-import", "from-registry", "add", "add-url", "stdin", "link"] as const;

describe("hostile layers", () => {
  for (const [i, c] of layerCases.entries()) {
    for (const kind of KINDS) {
      for (const via of ENTRIES) {
        test(`${c.name} @ ${via}/${kind}`, () => guarded(async () => {
          let o: Outcome;
          if (via === "add") {
            o = await libBuild(stores.add, kind, "FROM scratch\nADD x.tar /\n", join(work, "inputs", `${slug(i)}-add`));
          } else if (via === "add-url") {
            o = await libBuild(stores.add, kind, `FROM scratch\nADD --unpack=true ${downloads}/${slug(i)}.tar /\n`, emptyCtx);
          } else if (via === "link") {
            if (loads.get(`${i} oci`)?.code !== 0) return; // refused at load: judged by from-oci
            o = await libBuild(stores.oci, kind, `FROM ${slug(i)}:1\nCOPY --link tree/ /\n`, linkCtx);
            judge(o, c.must, layerTars(c).flat.toString("latin1"));
            if (o.built) for (const n of linkNames) isFile(o.tree, `${n}/link-payload`, "link\n");
            return;
          } else if (via === "stdin") {
            o = await stdinBuild(stores.stdin, kind, layerTars(c).flat, stdinDockerfile);
          } else if (via === "from-registry") {
            if (!registry) throw new Error("no registry");
            if (loads.get(`${i} oci`)?.code !== 0) return; // refused at load: judged by from-oci
            o = await libBuild(stores.registry, kind, `FROM ${registry.host}/hostile/${slug(i)}:1\n`, emptyCtx, { insecure: [registry.host] });
          } else {
            const key = via === "from-oci" ? "oci" : via === "from-docker" ? "docker" : "import";
            const loaded = loads.get(`${i} ${key}`);
            if (loaded?.code !== 0) {
              o = cliRefusal(loaded?.err ?? "", loaded?.err ?? "");
            } else {
              o = await libBuild(stores[key], kind, `FROM ${slug(i)}:1\n`, emptyCtx);
            }
          }
          judge(o, c.must, layerTars(c).flat.toString("latin1"));
          if (o.built) c.check?.(o.tree);
        }));
      }
    }
  }
});

describe("hostile contexts", () => {
  for (const [i, c] of contextCases.entries()) {
    for (const kind of KINDS) {
      test(`${c.name} @ context/${kind}`, () => guarded(async () => {
        const ctx = join(work, "contexts", `${i}-${kind}`);
        mkdirSync(ctx, { recursive: true });
        c.make(ctx);
        const o = await libBuild(stores.ctx, kind, c.dockerfile, ctx);
        judge(o, undefined, inputText(c.dockerfile, ctx));
        if (o.built) c.check?.(o.tree);
      }));
    }
  }
});

describe("hostile RUN steps", () => {
  for (const [i, c] of runCases.entries()) {
    for (const kind of KINDS) {
      test(`${c.name} @ run/${kind}`, () => guarded(async () => {
        const ctx = join(work, "run-contexts", `${i}-${kind}`);
        mkdirSync(ctx, { recursive: true });
        writeFileSync(join(ctx, "f"), "copied\n");
        writeFileSync(join(ctx, "x.tar"), tarOf([file("from-tar", "t\n")]));
        writeFileSync(join(ctx, "devlink.tar"), tarOf([symlink("dev", CANARY)]));
        writeFileSync(join(ctx, "devrel.tar"), tarOf([symlink("dev", `${UP}${C}`)]));
        writeFileSync(join(ctx, "syslink.tar"), tarOf([symlink("sys", CANARY)]));
        mkdirSync(join(ctx, "devdir"));
        symlinkSync(CANARY, join(ctx, "devdir", "dev"));
        mkdirSync(join(ctx, "sub"));
        writeFileSync(join(ctx, "sub", "inner.txt"), "inner\n");
        writeFileSync(join(ctx, "sub", "keep.bin"), "keep\n");
        leak(ctx);
        const o = await libBuild(stores.run, kind, c.dockerfile, ctx, c.secrets ? { secrets: c.secrets } : {});
        judge(o, undefined, inputText(c.dockerfile, ctx));
        if (o.built) c.check?.(o.tree);
      }));
    }
  }
});

describe("hostile archives (tsbuild load, then FROM, in a separate process)", () => {
  for (const [i, c] of archiveCases.entries()) {
    test(`${c.name} @ load`, () => guarded(async () => {
      const d = join(work, "archives", String(i));
      mkdirSync(d, { recursive: true });
      const root = join(work, `s-archive-${i}`);
      const loaded = await runProcess(["load", "--root", root, "-i", c.make(d)]);
      expect(loaded.out).not.toContain(CANARY_SECRET);
      expect(loaded.out, "no crash").not.toMatch(CRASH);
      if (loaded.code !== 0) {
        expect(loaded.code, loaded.out).toBe(1);
        expect(cliRefusal(loaded.out, loaded.out).typed, loaded.out).toBe(true);
        return;
      }
      // soft: what FROM does with the accepted archive is judged too
      expect.soft(c.refuseAtLoad, `load accepted it: ${loaded.out}`).not.toBe(true);
      const df = join(d, "Dockerfile");
      writeFileSync(df, "FROM arch:1\n");
      for (const kind of KINDS) {
        const r = await runProcess(["build", "--root", root, "--snapshotter", kind, "--progress", "plain", "-t", `out-${kind}:1`, "-f", df, emptyCtx]);
        expect(r.out, "no crash").not.toMatch(CRASH);
        expect(r.out).not.toContain(CANARY_SECRET);
        if (r.code === 0) expect((await imageTree(root, kind, `out-${kind}:1`)).get("hello")?.content).toBe("hello\n");
        else expect(cliRefusal(r.out, r.out).typed, r.out).toBe(true);
      }
    }));
  }
});
