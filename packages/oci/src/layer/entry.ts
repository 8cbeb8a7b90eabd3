import type { Readable } from "node:stream";

export type LayerEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "whiteout" | "opaque";

/** One entry of a layer, independent of how it is stored (tar) or where it comes from. */
export interface LayerEntry {
  /** relative, "/"-separated, no leading "/" or "./": "etc/passwd" */
  path: string;
  /** "whiteout": path is the deleted name (written dir/.wh.name); "opaque": path is the directory */
  type: LayerEntryType;
  /** permission bits incl. setuid/setgid/sticky */
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** regular files */
  size?: number;
  /** symlink target, or the path (like `path`) a hard link points to */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
  uname?: string;
  gname?: string;
  /** file content: a stream, or pieces read synchronously (fresh buffers, never reused) */
  open?: () => Readable | Iterable<Buffer>;
  /** a small file's content in one synchronous read (preferred over `open` when present) */
  read?: () => Buffer;
}

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";
