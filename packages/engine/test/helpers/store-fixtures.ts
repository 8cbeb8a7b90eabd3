/** Test stores: with the busybox base image, and what a test checks a store for after builds. */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Store } from "@tsbuild/oci";
import { storeBusyboxBase } from "./busybox-base.js";

/** The store at `root` with the busybox base image `name` in it (busybox-base.ts). */
export async function putBusyboxBase(root: string, scratch: string, name = "base:1"): Promise<Store> {
  await storeBusyboxBase(root, name, scratch);
  return Store.open(root);
}

/** Mount points at or under `dir` (none may be left after builds). */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")[4] ?? "").filter((t) => t === dir || t.startsWith(`${dir}/`));
}

/** runc containers in the store's state dir (none may be left after builds). */
export function runcContainers(root: string): string[] {
  const out = execFileSync("runc", ["--root", join(root, "runc"), "list", "-q"], { encoding: "utf8" });
  return out.split("\n").filter(Boolean);
}

export function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
