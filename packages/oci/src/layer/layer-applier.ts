/**
 * Applies a layer (gzip, zstd or plain tar, sniffed) to a directory: whiteouts and opaque
 * directories, hard links, owners, modes, mtimes (directories last), xattrs, devices and fifos.
 *
 * Safety: every entry lands inside the target. Names climbing out with ".." are refused; parent
 * directories are resolved with symlinks followed inside the target (an absolute link means the
 * target, never the host); hard links must point at an existing non-directory inside the target.
 * A refused or broken layer throws (UnsafeLayerError / TarFormatError) and nothing outside the
 * target is touched; `applyLayerToNewDir` also removes the half-applied directory, so a refused
 * layer never leaves a partial tree.
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { chmod, lchown, link, lstat, lutimes, mkdir, rm, rename, readdir, symlink, utimes } from "node:fs/promises";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DigestingStream, type Digest } from "../digest.js";
import { UnsafeLayerError } from "../errors.js";
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from "./entry.js";
import { decompressStream } from "./compression.js";
import { readTar } from "./tar-reader.js";
import { normalizeEntryName, resolveInRoot } from "./safe-path.js";
import { setXattr } from "./xattrs.js";

export interface ApplyOptions {
  /** set owners from the layer (default: when running as root) */
  sameOwner?: boolean;
}

export interface ApplyResult {
  diffId: Digest;
  entries: number;
}

function runTool(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    c.on("error", reject);
    c.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")}: ${err.trim()}`))));
  });
}

async function removeIfPresent(abs: string): Promise<void> {
  await rm(abs, { recursive: true, force: true });
}

export async function applyLayer(source: Readable, target: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const sameOwner = opts.sameOwner ?? (typeof process.getuid === "function" && process.getuid() === 0);
  const plain = await decompressStream(source);
  const diff = new DigestingStream();
  plain.on("error", (e) => diff.destroy(e));
  plain.pipe(diff);
  const written = new Set<string>();
  const dirTimes: { abs: string; mtime: Date }[] = [];
  let entries = 0;

  for await (const entry of readTar(diff)) {
    const h = entry.header;
    entries++;
    const name = normalizeEntryName(h.name);
    if (name === "") {
      // the root itself: apply its metadata, as docker does
      if (h.type === "5") {
        if (sameOwner) await lchown(target, h.uid, h.gid);
        await chmod(target, h.mode & 0o7777);
        dirTimes.push({ abs: target, mtime: h.mtime });
      }
      continue;
    }
    const slash = name.lastIndexOf("/");
    const parentRel = await resolveInRoot(target, slash === -1 ? "" : name.slice(0, slash));
    const base = name.slice(slash + 1);
    const parentAbs = posix.join(target, parentRel);
    const rel = parentRel ? `${parentRel}/${base}` : base;
    const abs = posix.join(target, rel);

    if (base === OPAQUE_MARKER) {
      // keep what this layer already wrote in the directory, drop what lower layers had
      const dirAbs = parentAbs;
      for (const child of await readdir(dirAbs).catch(() => [] as string[])) {
        const childRel = parentRel ? `${parentRel}/${child}` : child;
        if (!written.has(childRel)) await removeIfPresent(posix.join(dirAbs, child));
      }
      continue;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const victim = base.slice(WHITEOUT_PREFIX.length);
      if (victim === "" || victim === "." || victim === ".." || victim.includes("/")) throw new UnsafeLayerError(h.name, "bad whiteout name");
      await removeIfPresent(posix.join(parentAbs, victim));
      continue;
    }

    await mkdir(parentAbs, { recursive: true });
    const existing = await lstat(abs).catch(() => undefined);
    if (existing && !(existing.isDirectory() && h.type === "5")) await removeIfPresent(abs);

    switch (h.type) {
      case "5":
        if (!existing?.isDirectory()) await mkdir(abs);
        break;
      case "0":
      case "7": {
        const tmp = `${abs}.tsbuild-partial`;
        await pipeline(entry.body(), createWriteStream(tmp, { mode: 0o600 }));
        await rename(tmp, abs);
        break;
      }
      case "2":
        await symlink(h.linkname, abs);
        break;
      case "1": {
        const linkName = normalizeEntryName(h.linkname);
        const ls = linkName.lastIndexOf("/");
        const linkParent = await resolveInRoot(target, ls === -1 ? "" : linkName.slice(0, ls));
        const linkRel = linkParent ? `${linkParent}/${linkName.slice(ls + 1)}` : linkName.slice(ls + 1);
        const srcAbs = posix.join(target, linkRel);
        const st = await lstat(srcAbs).catch(() => undefined);
        if (!st) throw new UnsafeLayerError(h.name, `hard link to ${h.linkname}, which is not in the layer or below it`);
        if (st.isDirectory()) throw new UnsafeLayerError(h.name, "hard link to a directory");
        await link(srcAbs, abs);
        written.add(rel);
        continue; // a hard link shares the target's metadata
      }
      case "3":
      case "4":
        await runTool("mknod", [abs, h.type === "3" ? "c" : "b", String(h.devmajor), String(h.devminor)]);
        break;
      case "6":
        await runTool("mkfifo", [abs]);
        break;
      default:
        // unknown types (e.g. GNU sparse) are refused rather than silently dropped
        throw new UnsafeLayerError(h.name, `unsupported tar entry type ${JSON.stringify(h.type)}`);
    }
    written.add(rel);
    if (sameOwner) await lchown(abs, h.uid, h.gid);
    if (h.type !== "2") await chmod(abs, h.mode & 0o7777);
    for (const [k, v] of h.pax) {
      if (k.startsWith("SCHILY.xattr.")) await setXattr(abs, k.slice("SCHILY.xattr.".length), v);
    }
    if (h.type === "5") dirTimes.push({ abs, mtime: h.mtime });
    else if (h.type === "2") await lutimes(abs, h.mtime, h.mtime);
    else await utimes(abs, h.mtime, h.mtime);
  }
  for (const d of dirTimes.reverse()) await utimes(d.abs, d.mtime, d.mtime).catch(() => undefined);
  // readTar stops at the first zero block: what follows (the second one, any padding) is still
  // part of the layer's diff id, and the digest exists only once the stream has ended
  for await (const _rest of diff) void _rest;
  return { diffId: diff.digest, entries };
}

/** Applies a layer into a directory that must not exist yet; on any error the directory is removed. */
export async function applyLayerToNewDir(source: Readable, dir: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  await mkdir(dir, { recursive: false });
  try {
    return await applyLayer(source, dir, opts);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
