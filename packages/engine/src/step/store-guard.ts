/**
 * What a build protects from a concurrent `tsbuild prune` (the protocol is in @tsbuild/oci's
 * store-sessions.ts): every snapshot it is about to mount, unpack or commit, and every cached layer
 * it reuses. Each is held BEFORE the build checks that it exists, so a prune either removed it
 * already (the build then sees it missing and recreates it) or will keep it.
 */
import type { StoreSession } from "@tsbuild/oci";
import type { CacheRecord } from "../cache/build-cache.js";
import { chainName } from "./snapshot-chain.js";
import type { SolverEnv } from "../solver/state.js";

export type GuardEnv = Pick<SolverEnv, "store"> & { session?: StoreSession | undefined };

export async function holdSnapshots(env: GuardEnv, names: (string | undefined)[]): Promise<void> {
  const list = names.filter((n): n is string => n !== undefined);
  if (env.session && list.length) await env.session.hold({ snapshots: list });
}

/**
 * A cache hit, its layer held for this build; undefined when a prune removed the layer meanwhile (a
 * miss). With `on`, the snapshot the layer makes on that parent snapshot is held in the same step
 * (one trip through the gc lock instead of two).
 */
export async function holdHit(env: GuardEnv, hit: CacheRecord | undefined, on?: { parent: string | undefined }): Promise<CacheRecord | undefined> {
  if (!hit?.layer || !env.session) return hit;
  await env.session.hold({ digests: [hit.layer.descriptor.digest], ...(on ? { snapshots: [chainName(on.parent, hit.layer.diffId)] } : {}) });
  return (await env.store.content.has(hit.layer.descriptor.digest)) ? hit : undefined;
}
