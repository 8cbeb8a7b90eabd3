/**
 * Applies a layer (gzip, zstd or plain tar, sniffed) to a directory: whiteouts and opaque
 * directories, hard links, owners, modes, mtimes (directories last), xattrs, devices and fifos.
 *
 * Safety: every write goes through SafeRoot (../root/safe-root.ts): parents are resolved component
 * by component from a descriptor of the target, symlinks followed as if the target were "/", and
 * each entry is made, replaced and given its metadata as PARENT-DESCRIPTOR + NAME, never followed.
 * Names climbing out with ".." are refused; hard links must point at an existing non-directory
 * inside the target. Files are created under their own name (O_EXCL|O_NOFOLLOW, after what was
 * there is removed): no temporary name a layer could plant, and names up to NAME_MAX work.
 * A refused or broken layer throws (UnsafeLayerError / TarFormatError) and nothing outside the
 * target is touched; `applyLayerToNewDir` also removes the half-applied directory, so a refused
 * layer never leaves a partial tree.
 */
import { closeSync, writeSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { DigestingStream, type Digest } from "../digest.js";
import { UnsafeLayerError, UnsafePathError } from "../errors.js";
import {
  createFileAt, linkAt, lstatAt, mkdirAt, mknodAt, PATH_MAX, readdirAt, SafeRoot, setMetaAt, setMetaFd, setXattrAt,
  symlinkAt, type RootDir,
} from "../root/safe-root.js";
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from "./entry.js";
import { decompressStream } from "./compression.js";
import { readTar } from "./tar-reader.js";
import type { TarHeader } from "./tar-format.js";
import { normalizeEntryName } from "./safe-path.js";
import { inUserNamespace } from "../user-namespace.js";

export interface ApplyOptions {
  /** set owners from the layer (default: when running as root) */
  sameOwner?: boolean;
  /**
   * applied in a user namespace (default: when this process runs in one), as containerd applies a
   * layer there (BuildKit rootless): character and block devices are skipped (the kernel refuses
   * them; overlay's 0:0 whiteout is allowed and kept), trusted.* xattrs too (only the host's root
   * may set them), and user.overlay.* ones, which overlayfs reads there as its own markers
   */
  userNamespace?: boolean;
}

export interface ApplyResult {
  diffId: Digest;
  entries: number;
  /**
   * the layer's whiteouts and opaque markers: what it deletes below it. On an empty target they
   * delete nothing and leave no trace, so the tree made holds the whole layer only when this is 0.
   */
  deletions: number;
}

const seconds = (d: Date) => d.getTime() / 1000;

/** A layer's file is owned by an id the user namespace does not map (a rootless build's subordinate ids are too few). */
export class UnmappedOwnerError extends Error {
  override readonly name = "UnmappedOwnerError";
  constructor(readonly path: string, readonly uid: number, readonly gid: number) {
    super(`${path} in the layer is owned by ${uid}:${gid}, an id this rootless build's user namespace does not map: give the user more subordinate ids in /etc/subuid and /etc/subgid (65536 cover the ids images use)`);
  }
}

/** An entry's parent, made (0755) when missing (`make`); a path error becomes the layer's. */
function parentOf(root: SafeRoot, entry: string, name: string, make = true): { dir: RootDir; name: string } {
  try {
    return root.parent(name, make ? { mode: 0o755 } : undefined);
  } catch (e) {
    if (e instanceof UnsafePathError) throw new UnsafeLayerError(entry, e.message);
    throw e;
  }
}

export async function applyLayer(source: Readable, target: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const sameOwner = opts.sameOwner ?? (typeof process.getuid === "function" && process.getuid() === 0);
  const userNs = opts.userNamespace ?? inUserNamespace();
  const plain = await decompressStream(source);
  const diff = new DigestingStream();
  plain.on("error", (e) => diff.destroy(e));
  plain.pipe(diff);
  const root = SafeRoot.open(target);
  const rootBytes = Buffer.byteLength(target) + 1;
  let entries = 0;
  let deletions = 0;
  let current: TarHeader | undefined;
  try {
    const written = new Set<string>();
    /** directories by resolved path → mtime (the last entry for a path wins) */
    const dirTimes = new Map<string, number>();
    const owner = (h: TarHeader) => (sameOwner ? { uid: h.uid, gid: h.gid } : {});

    for await (const entry of readTar(diff)) {
      root.settle(); // no directory of an earlier entry is used again
      const h = entry.header;
      current = h;
      entries++;
      const name = normalizeEntryName(h.name);
      // the kernel's PATH_MAX: a longer path could be made one component at a time, but no path-based
      // tool (rm -r, a snapshot's removal, the container's own) could reach it again
      if (rootBytes + Buffer.byteLength(name) >= PATH_MAX) throw new UnsafeLayerError(h.name.slice(0, 200), `path longer than ${PATH_MAX} bytes`);
      if (name === "") {
        // the root itself: apply its metadata, as docker does
        if (h.type === "5") {
          setMetaFd(root.fd, { ...owner(h), mode: h.mode });
          dirTimes.set("", seconds(h.mtime));
        }
        continue;
      }
      const { dir, name: base } = parentOf(root, h.name, name);
      const rel = dir.rel ? `${dir.rel}/${base}` : base;

      if (base === OPAQUE_MARKER) {
        deletions++;
        // keep what this layer already wrote in the directory, drop what lower layers had
        for (const child of readdirAt(dir)) {
          if (!written.has(dir.rel ? `${dir.rel}/${child}` : child)) root.remove(dir, child);
        }
        continue;
      }
      if (base.startsWith(WHITEOUT_PREFIX)) {
        const victim = base.slice(WHITEOUT_PREFIX.length);
        if (victim === "" || victim === "." || victim === ".." || victim.includes("/")) throw new UnsafeLayerError(h.name, "bad whiteout name");
        deletions++;
        root.remove(dir, victim);
        continue;
      }

      if ((h.type === "1" || h.type === "2") && (h.linkname === "" || h.linkname.includes("\0"))) {
        throw new UnsafeLayerError(h.name, h.linkname === "" ? "a link with no target" : "NUL byte in its link target");
      }
      const existing = lstatAt(dir, base);
      if (existing && !(existing.isDirectory() && h.type === "5")) root.remove(dir, base, existing);

      switch (h.type) {
        case "5":
          if (!existing?.isDirectory()) mkdirAt(dir, base, 0o700);
          break;
        case "0":
        case "7": {
          const fd = createFileAt(dir, base, 0o600);
          try {
            for await (const chunk of entry.body()) {
              for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at, chunk.length - at);
            }
            setMetaFd(fd, { ...owner(h), mode: h.mode, mtime: seconds(h.mtime) });
          } finally {
            closeSync(fd);
          }
          break;
        }
        case "2":
          symlinkAt(dir, base, h.linkname);
          break;
        case "1": {
          const from = parentOf(root, h.name, normalizeEntryName(h.linkname), false);
          const st = lstatAt(from.dir, from.name);
          if (!st) throw new UnsafeLayerError(h.name, `hard link to ${h.linkname}, which is not in the layer or below it`);
          if (st.isDirectory()) throw new UnsafeLayerError(h.name, "hard link to a directory");
          linkAt(from.dir, from.name, dir, base);
          written.add(rel);
          continue; // a hard link shares the target's metadata
        }
        case "3":
        case "4":
          if (userNs && !(h.type === "3" && h.devmajor === 0 && h.devminor === 0)) continue;
          await mknodAt(dir, base, h.type === "3" ? "c" : "b", h.devmajor, h.devminor);
          break;
        case "6":
          await mknodAt(dir, base, "p");
          break;
        default:
          // unknown types (e.g. GNU sparse) are refused rather than silently dropped
          throw new UnsafeLayerError(h.name, `unsupported tar entry type ${JSON.stringify(h.type)}`);
      }
      written.add(rel);
      if (h.type === "5") {
        setMetaAt(dir, base, { ...owner(h), mode: h.mode });
        dirTimes.set(rel, seconds(h.mtime));
      } else if (h.type !== "0" && h.type !== "7") {
        setMetaAt(dir, base, { ...owner(h), ...(h.type === "2" ? {} : { mode: h.mode }), mtime: seconds(h.mtime) });
      }
      // xattrs do not change times
      for (const [k, v] of h.pax) {
        if (!k.startsWith("SCHILY.xattr.")) continue;
        const key = k.slice("SCHILY.xattr.".length);
        // overlayfs's own (redirect, opaque, metacopy…) would make a RUN see another tree than the layers hold
        if (key.startsWith("trusted.overlay.")) continue;
        if (userNs && (key.startsWith("trusted.") || key.startsWith("user.overlay."))) continue;
        // refused as containerd refuses it (e.g. a user.* xattr on a symlink: EPERM)
        await setXattrAt(dir, base, key, v).catch((e: Error) => {
          throw new UnsafeLayerError(h.name, `cannot set its extended attribute ${key} (${e.message.replace(/^.*: /, "")})`);
        });
      }
    }
    // directories' times last (their entries changed them), each directory found again with no
    // symlink followed: one the layer replaced by a link since keeps nothing of this
    root.settle();
    root.eachExact(dirTimes.keys(), (fd, rel) => setMetaFd(fd, { mtime: dirTimes.get(rel) as number }));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // an owner this user namespace has no id for (beyond the subordinate ranges)
    if (userNs && current && err.code === "EINVAL" && /chown/.test(err.syscall ?? "")) {
      throw new UnmappedOwnerError(current.name, current.uid, current.gid);
    }
    throw e;
  } finally {
    root.close();
  }
  // readTar stops at the first zero block: what follows (the second one, any padding) is still
  // part of the layer's diff id, and the digest exists only once the stream has ended
  for await (const _rest of diff) void _rest;
  return { diffId: diff.digest, entries, deletions };
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
