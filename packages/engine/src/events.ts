/** The typed event stream of a build: what the CLI (or any tool) shows. */
import type { Position } from "@tsbuild/dockerfile";
import type { StepPhase } from "./step/phases.js";

/**
 * A build-wide phase, in a `timing` event when it is done: store (the store opened, the build's
 * session, killed builds swept), parse (the Dockerfile read and lowered), context (the build
 * context loaded), resolve (a stage's base image: pulled or found, unpacked; one event per stage),
 * export (from the last step to the outputs written: image config, manifest, names, outputs, cache
 * export).
 */
export type BuildPhase = "store" | "parse" | "context" | "resolve" | "export";

export type BuildEvent =
  | { type: "step-start"; id: number; stage: string; step: string; instruction: string; position?: Position }
  | { type: "step-output"; id: number; stream: "stdout" | "stderr"; data: string }
  /** `phases`: where a step that ran spent its time (ms; exclusive, at most durationMs together: step/phases.ts); never on a cache hit */
  | { type: "step-done"; id: number; durationMs: number; cached: boolean; cacheKey: string; layer?: string; explain?: string; detail?: string; phases?: Partial<Record<StepPhase, number>> }
  /** a build-wide phase done, and its time (ms) */
  | { type: "timing"; phase: BuildPhase; ms: number; stage?: string }
  | { type: "step-failed"; id: number; error: string }
  | { type: "warning"; message: string }
  /** a named context (--build-context) resolved: what it is (`context NAME=VALUE`, URLs without credentials) and what cache keys depend on */
  | { type: "context"; name: string; what: string; identity: string }
  | { type: "exported"; what: string }
  /**
   * how the build isolates its steps, once at its start: rootless (in a user namespace) or as root,
   * or chroot (no namespaces, asked for), the rootless namespace's id mapping and process sandbox,
   * and the snapshotter chosen and why (the CLI shows it for rootless and chroot builds and copy fallbacks)
   */
  | {
    type: "isolation"; rootless: boolean; isolation: "root" | "rootless" | "chroot"; snapshotter: "overlay" | "copy"; why: string;
    idMapping?: "subids" | "single"; processSandbox?: "own" | "shared";
  };

export type EventSink = (e: BuildEvent) => void;
