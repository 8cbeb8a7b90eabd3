/**
 * Which cache records an export carries. mode=max: every step of every stage this build ran or hit;
 * mode=min: the steps of the final image only, i.e. the target stage and the stages it is built
 * `FROM` (not stages it merely copies from). Every step has a record (metadata steps one without a
 * layer); a step that has none (ADD of a URL) is left out.
 */
import type { BuildGraph, Stage } from "@tsbuild/dockerfile";
import type { CacheRecord, LocalCache } from "../build-cache.js";
import type { StepRecord } from "../../solver/state.js";
import type { CacheMode } from "./spec.js";
import { stageLabel } from "../../solver/stage-label.js";


/** The labels of the target stage and of every stage it is built FROM. */
export function finalChain(graph: BuildGraph): Set<string> {
  const labels = new Set<string>();
  let stage: Stage | undefined = graph.stages[graph.target];
  while (stage) {
    labels.add(stageLabel(stage));
    stage = stage.base.kind === "stage" ? graph.stages[stage.base.index] : undefined;
  }
  return labels;
}

/** Looks up (in the local cache, where every step ran or hit has its record) the records `mode` exports. */
export async function recordsToExport(cache: LocalCache, graph: BuildGraph, steps: StepRecord[], mode: CacheMode): Promise<CacheRecord[]> {
  const chain = mode === "min" ? finalChain(graph) : undefined;
  const keys = new Set(steps.filter((s) => !chain || chain.has(s.stage)).map((s) => s.cacheKey));
  const out: CacheRecord[] = [];
  for (const key of keys) {
    const r = await cache.get(key);
    if (r) out.push(r);
  }
  return out;
}
