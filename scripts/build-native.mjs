#!/usr/bin/env node
// Builds tsbuild-sys (packages/oci/native/sys-helper.c: mount, umount2, syncfs and xattr reads
// served over a pipe, oci/src/sys-helper.ts) with the system's C compiler, when its source is
// newer than the binary. Without a compiler it says so and tsbuild spawns mount/umount/getfattr/sync
// instead (slower per step, same results). Called by bundle-cli.mjs; exports where the binary is.
import { execFileSync } from "node:child_process";
import { existsSync, renameSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../packages/oci/native/", import.meta.url));
export const helperBinary = `${dir}tsbuild-sys`;

export function buildNative() {
  const src = `${dir}sys-helper.c`;
  if (existsSync(helperBinary) && statSync(helperBinary).mtimeMs >= statSync(src).mtimeMs) return true;
  const cc = process.env.CC ?? "cc";
  const tmp = `${helperBinary}.tmp-${process.pid}`;
  try {
    execFileSync(cc, ["-O2", "-Wall", "-Wextra", "-o", tmp, src, "-lpthread"], { stdio: ["ignore", "inherit", "inherit"] });
    renameSync(tmp, helperBinary);
    return true;
  } catch (e) {
    console.warn(`tsbuild-sys not built (${cc}: ${e.message.split("\n")[0]}): builds spawn mount/umount/getfattr instead`);
    return false;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildNative();
