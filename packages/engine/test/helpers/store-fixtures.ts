/** Test stores: a busybox base image, and what a test checks a store for after builds. */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { DigestingStream, MediaTypes, Store, writeImage } from "@tsbuild/oci";
import { BASE_ENV_PATH, busyboxTar, makeBusyboxRootfs } from "../../../../fixtures/support/busybox-rootfs.js";

/** Puts a one-layer busybox image named `name` into the store at `root`. */
export async function putBusyboxBase(root: string, scratch: string, name = "base:1"): Promise<Store> {
  const store = await Store.open(root);
  const blob = await store.content.ingest(Readable.from([busyboxTar(makeBusyboxRootfs(join(scratch, "rootfs")))]).pipe(new DigestingStream()));
  const img = await writeImage(store.content, { architecture: "amd64", os: "linux", created: "2020-01-01T00:00:00Z", config: { Env: [BASE_ENV_PATH], Cmd: ["sh"] } },
    [{ descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest: blob.digest, size: blob.size }, diffId: blob.digest }]);
  await store.images.put(name, img.manifest);
  return store;
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
