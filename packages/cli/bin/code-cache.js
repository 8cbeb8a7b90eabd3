"use strict";
// Runs a CommonJS file through vm.Script with V8's code cache, kept next to it as FILE.v8cache: with the
// cache, V8 skips parsing and compiling the functions it holds (Node 20 has no compile cache of its own).
// The cache is only ever a speed-up. Its header names the file it was made from (device, inode, size,
// mtime), so a cache of another build of the file is never given to V8; V8 itself rejects one made by
// another Node version or with other V8 flags. Either way it is written again, atomically (temp file,
// fsync, rename); a directory that cannot be written (read-only install) just means no cache.
const { closeSync, fstatSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { dirname } = require("node:path");
const { Script } = require("node:vm");

const MAGIC = "tsbuild-v8-cache 1";

/** FILE.v8cache's data and grade, or why there is none to use: "absent", or "stale" (made from another build of FILE). */
function readCache(cacheFile, identity) {
  let bytes;
  try {
    bytes = readFileSync(cacheFile);
  } catch {
    return { status: "absent" };
  }
  const eol = bytes.indexOf(10);
  const [magic, id, grade, length] = bytes.subarray(0, Math.max(eol, 0)).toString("latin1").split("\t");
  const data = bytes.subarray(eol + 1);
  if (eol < 0 || magic !== MAGIC || id !== identity || Number(length) !== data.length) return { status: "stale" };
  return { status: "found", data, grade };
}

function writeCache(cacheFile, identity, grade, script) {
  const temp = `${cacheFile}.${process.pid}.tmp`;
  try {
    const data = script.createCachedData();
    const fd = openSync(temp, "w", 0o644);
    try {
      writeFileSync(fd, `${MAGIC}\t${identity}\t${grade}\t${data.length}\n`); // at the file position, whole
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, cacheFile);
    return true;
  } catch {
    rmSync(temp, { force: true });
    return false;
  }
}

/**
 * Runs the CommonJS `file` and returns its exports, how the cache went ("used"; else "absent",
 * "stale" or "rejected" by V8), and `saveCache(grade)`, to call when the program is done (the functions
 * it compiled on the way are then in the cache): it writes the cache when there was none to use, or
 * when this run's grade is "full" and the cache's was not (a cache made by `tsbuild --help` lacks what
 * a build runs). It returns whether it wrote one.
 */
function runWithCodeCache(file) {
  const fd = openSync(file, "r");
  let identity, source;
  try {
    const st = fstatSync(fd); // of the bytes read below, even if the file is replaced meanwhile
    identity = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    source = readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
  const cacheFile = `${file}.v8cache`;
  const cache = readCache(cacheFile, identity);
  const wrapper = "(function (exports, require, module, __filename, __dirname) {\n";
  const script = new Script(`${wrapper}${source}\n})`, { filename: file, lineOffset: -1, cachedData: cache.data });
  const cacheStatus = cache.status !== "found" ? cache.status : script.cachedDataRejected ? "rejected" : "used";
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return {
    exports: module.exports,
    cacheStatus,
    saveCache(grade) {
      if (cacheStatus === "used" && (cache.grade === "full" || grade !== "full")) return false;
      return writeCache(cacheFile, identity, grade, script);
    },
  };
}

module.exports = { runWithCodeCache };
