/**
 * Test support: a canary directory outside the store and the context (files, subdirectories, a
 * symlink, empty files named like mount stubs, known modes, owners, times and contents), and its
 * full state as lines (name, type, mode, owner, size, content hash, link target, rdev, nlink,
 * inode, mtime, ctime to the nanosecond), so a test can say it was not touched at all.
 * Also a reader of any root file system as lines of the same kind (without the times).
 */
import { createHash } from "node:crypto";
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Contents and names a leak would show: none may appear in an image, an error or the output. */
export const CANARY_SECRET = "canary-secret-7f3a9c";
export const CANARY_NAME = "canary-name-b81e";

const T = 946_684_800; // 2000-01-01

export function makeCanary(dir: string, evilTar: Buffer): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "sub", "deeper"), { recursive: true });
  mkdirSync(join(dir, "b", "c"), { recursive: true });
  writeFileSync(join(dir, "file"), `${CANARY_SECRET} file\n`);
  writeFileSync(join(dir, `${CANARY_NAME}.txt`), `${CANARY_SECRET} named\n`);
  writeFileSync(join(dir, "sub", "deeper", "deep.txt"), `${CANARY_SECRET} deep\n`);
  writeFileSync(join(dir, "exec"), "#!/bin/sh\necho canary\n");
  writeFileSync(join(dir, "b", "empty"), ""); // what a stub cleanup would think is its own
  for (const stub of ["hosts", "resolv.conf", "hostname"]) writeFileSync(join(dir, stub), "");
  writeFileSync(join(dir, "evil.tar"), evilTar); // an archive outside the context
  symlinkSync("file", join(dir, "link"));
  chmodSync(join(dir, "file"), 0o640);
  chmodSync(join(dir, "exec"), 0o750);
  chmodSync(join(dir, "sub"), 0o711);
  chownSync(join(dir, "file"), 1234, 5678);
  chownSync(join(dir, "sub"), 4321, 8765);
  lchownSync(join(dir, "link"), 1111, 2222);
  // times last, deepest first
  for (const p of ["sub/deeper/deep.txt", "sub/deeper", "sub", "b/c", "b/empty", "b", "file", `${CANARY_NAME}.txt`, "exec", "hosts", "resolv.conf", "hostname", "evil.tar", "."]) {
    utimesSync(join(dir, p), T, T);
  }
}

/** Every entry under `dir` (and `dir` itself) with all of its metadata and a content hash. */
export function canaryState(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    const p = rel ? join(dir, rel) : dir;
    let st;
    try {
      st = lstatSync(p, { bigint: true });
    } catch {
      out.push(`${rel || "."} MISSING`);
      return;
    }
    const type = st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : st.isFile() ? "file" : "other";
    const extra = type === "file" ? createHash("sha256").update(readFileSync(p)).digest("hex").slice(0, 16) : type === "symlink" ? `-> ${readlinkSync(p)}` : "";
    out.push(`${rel || "."} ${type} ${(st.mode & 0o7777n).toString(8)} ${st.uid}:${st.gid} ${st.size} n${st.nlink} i${st.ino} m${st.mtimeNs} c${st.ctimeNs} ${extra}`);
    if (type === "dir") for (const n of readdirSync(p).sort()) visit(rel ? `${rel}/${n}` : n);
  };
  visit("");
  return out;
}

export interface TreeEntry {
  type: "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket" | "error";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** file content (up to 64 KiB) */
  content?: string;
  sha?: string;
  link?: string;
  rdev?: number;
}

/** A root file system as a map of relative path → entry, links never followed. */
export function readTree(root: string, opts: { skip?: (rel: string) => boolean } = {}): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const visit = (rel: string): void => {
    const p = join(root, rel);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      out.set(rel, { type: "error", mode: 0, uid: 0, gid: 0, size: 0 });
      return;
    }
    const type: TreeEntry["type"] = st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : st.isFile() ? "file" : st.isCharacterDevice() ? "char" : st.isBlockDevice() ? "block" : st.isFIFO() ? "fifo" : "socket";
    const e: TreeEntry = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size };
    if (type === "file") {
      const b = readFileSync(p);
      e.sha = createHash("sha256").update(b).digest("hex");
      e.content = b.subarray(0, 65536).toString("utf8");
    }
    if (type === "symlink") e.link = readlinkSync(p);
    if (type === "char" || type === "block") e.rdev = st.rdev;
    if (rel) out.set(rel, e);
    if (type === "dir") {
      let names: string[] = [];
      try {
        names = readdirSync(p);
      } catch {
        return;
      }
      for (const n of names) {
        const r = rel ? `${rel}/${n}` : n;
        if (!opts.skip?.(r)) visit(r);
      }
    }
  };
  visit("");
  return out;
}
