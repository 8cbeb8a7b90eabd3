#!/usr/bin/env node
// The npm registry mirror used on our machines serves only the linux-x64 builds of platform-specific
// optional packages (rollup's @rollup/rollup-<os>-<cpu>[-<abi>]), so `npm install` writes a lock
// file without entries for the other platforms, and `npm ci` then refuses the lock as out of sync.
// This adds placeholder entries for those packages with the os/cpu/libc their names encode, so
// `npm ci` skips them as foreign platforms (it never fetches them). Run after changing dependencies:
//   npm install && node scripts/complete-lock.mjs
import { readFileSync, writeFileSync } from "node:fs";

const lockPath = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const OS = ["android", "darwin", "freebsd", "linux", "openbsd", "openharmony", "win32", "netbsd", "sunos", "aix"];
let added = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    if (lock.packages[key]) continue;
    const m = /-(android|darwin|freebsd|linux|openbsd|openharmony|win32|netbsd|sunos|aix)-([a-z0-9]+)(?:-(gnu|musl|msvc|gnueabihf|musleabihf|eabi))?$/.exec(dep);
    if (!m || !OS.includes(m[1])) continue;
    const abi = m[3] ?? "";
    const cpu = m[2] === "arm" || abi.includes("eabi") ? "arm" : m[2];
    const placeholder = { version, optional: true, os: [m[1]], cpu: [cpu] };
    if (m[1] === "linux" && abi.startsWith("gnu")) placeholder.libc = ["glibc"];
    if (m[1] === "linux" && abi.startsWith("musl")) placeholder.libc = ["musl"];
    if (entry.dev) placeholder.dev = true;
    lock.packages[key] = placeholder;
    added++;
    void path;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : a > b ? 1 : 0)));
writeFileSync(lockPath, JSON.stringify(lock, null, 2) + "\n");
console.log(`complete-lock: added ${added} foreign-platform placeholder entries`);
