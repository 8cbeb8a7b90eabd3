/**
 * What build() calls for --cache-from / --cache-to: open the import sources before solving (a
 * source that is missing or unreadable is a warning: the build runs without it), and after the
 * image is written export the records `mode` selects to each destination (a failed export fails
 * the build unless ignore-error=true, as with buildx). Inline caches go into the image config, so
 * build() asks for them before it writes the image.
 */
import type { BuildGraph } from "@tsbuild/dockerfile";
import type { Platform, Store } from "@tsbuild/oci";
import type { ClientOptions } from "@tsbuild/registry";
import { LocalCache } from "../build-cache.js";
import type { StepRecord } from "../../solver/state.js";
import type { EventSink } from "../../events.js";
import { cacheDocument, encodeCache, type CacheDocument } from "./format.js";
import { inlineCacheField } from "./inline.js";
import { writeLocalCache } from "./local-dest.js";
import { openLocalSource } from "./local-source.js";
import { pushRegistryCache } from "./registry-dest.js";
import { openRegistrySource } from "./registry-source.js";
import { recordsToExport } from "./select.js";
import type { CacheSource } from "./source.js";
import type { CacheFromSpec, CacheToSpec } from "./spec.js";

export interface CacheIo {
  store: Store;
  registry: ClientOptions;
  platform: Platform;
  emit: EventSink;
}

export class CacheExportError extends Error {
  override readonly name = "CacheExportError";
}

const describeFrom = (s: CacheFromSpec): string => (s.type === "local" ? `local cache ${s.src}` : `registry cache ${s.ref}`);

/** Opens every source (concurrently); the ones that fail are reported as warnings and left out. */
export async function openCacheSources(specs: CacheFromSpec[], io: CacheIo): Promise<CacheSource[]> {
  const opened = await Promise.allSettled(specs.map((s) => (s.type === "local" ? openLocalSource(io.store, s.src) : openRegistrySource(io.store, s.ref, io.registry, io.platform))));
  const sources: CacheSource[] = [];
  opened.forEach((r, i) => {
    if (r.status === "fulfilled") sources.push(r.value);
    else io.emit({ type: "warning", message: `${describeFrom(specs[i] as CacheFromSpec)} is not used: ${(r.reason as Error).message}` });
  });
  return sources;
}

export async function closeCacheSources(sources: CacheSource[]): Promise<void> {
  await Promise.allSettled(sources.map((s) => s.close()));
}

export interface BuiltSteps {
  graph: BuildGraph;
  steps: StepRecord[];
}

/** The image config field for --cache-to type=inline, if asked for. */
export async function inlineCache(specs: CacheToSpec[], io: CacheIo, built: BuiltSteps): Promise<Record<string, CacheDocument> | undefined> {
  if (!specs.some((s) => s.type === "inline")) return undefined;
  return inlineCacheField(await recordsToExport(new LocalCache(io.store), built.graph, built.steps, "min"));
}

/** Exports to every local and registry destination; returns what was exported, for BuildResult.exported. */
export async function exportCaches(specs: CacheToSpec[], io: CacheIo, built: BuiltSteps): Promise<string[]> {
  const done: string[] = [];
  for (const spec of specs) {
    if (spec.type === "inline") {
      done.push("inline cache in the image config");
      continue;
    }
    const where = spec.type === "local" ? `local cache ${spec.dest}` : `registry cache ${spec.ref}`;
    try {
      const doc = cacheDocument(await recordsToExport(new LocalCache(io.store), built.graph, built.steps, spec.mode));
      const encoded = encodeCache(doc);
      if (spec.type === "local") await writeLocalCache(io.store, encoded, spec.dest);
      else await pushRegistryCache(io.store, encoded, spec.ref, io.registry);
      done.push(`${where} (mode=${spec.mode}: ${doc.records.length} records, ${encoded.layers.length} layers)`);
    } catch (e) {
      const message = `exporting the ${where} failed: ${(e as Error).message}`;
      if (!spec.ignoreError) throw new CacheExportError(`${message} (the image was built; add ignore-error=true to --cache-to to carry on without the cache)`);
      io.emit({ type: "warning", message });
    }
  }
  return done;
}
