/**
 * The file a heredoc becomes (a COPY/ADD heredoc source, a RUN's `#!` heredoc): BuildKit writes it
 * as NAME into an empty file system and copies or mounts it from there, so NAME is a path of that
 * empty root: `./x` and `../x` mean `x`, while `a/b` needs a directory that is not there and `.` or
 * `..` name the root itself; BuildKit fails on both, and so do we.
 */
import { posix } from "node:path";

/** The name the file gets, or a message saying why BuildKit cannot make it. */
export function inlineFileName(name: string): { name: string } | { error: string } {
  const clean = posix.normalize(`/${name}`);
  if (clean === "/") return { error: `heredoc <<${name}: the file's name is a directory` };
  if (posix.dirname(clean) !== "/") return { error: `heredoc <<${name}: the file's name has a directory in it (no such file or directory)` };
  const base = posix.basename(clean);
  // the kernel's NAME_MAX: said here rather than as an errno naming the build's scratch directory
  if (Buffer.byteLength(base) > 255) return { error: `heredoc <<${name.slice(0, 40)}…: the file's name is longer than 255 bytes (file name too long)` };
  return { name: base };
}
