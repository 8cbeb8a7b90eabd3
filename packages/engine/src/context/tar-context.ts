/**
 * A build context given as a tar stream (plain or compressed, as `docker build -` takes one):
 * unpacked into a scratch directory of the store, safely (no entry lands outside it, owners are
 * not applied), and then built from like any context directory. The caller removes the directory
 * when the build is over; a killed build's is swept with the rest of its scratch (dead-builds.ts).
 */
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { applyLayer, type Store } from "@tsbuild/oci";

/** Unpacks `stream` into a fresh directory under the store's tmp/ and returns its path. */
export async function unpackContextTar(store: Store, stream: Readable, signal?: AbortSignal): Promise<string> {
  const dir = await store.tmpDir("context-");
  // a cancelled build stops reading (standard input may never end on its own)
  const onAbort = () => stream.destroy(new Error("the build was cancelled"));
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal?.aborted) onAbort();
    await applyLayer(stream, dir, { sameOwner: false });
    return dir;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
