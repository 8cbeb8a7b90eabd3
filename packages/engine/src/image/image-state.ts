import type { ContainerConfig, HistoryEntry, ImageConfig } from "@tsbuild/oci";

/**
 * The state of an image while a stage is built: its runtime config, its layers and its history,
 * changed step by step. Metadata instructions change only `config` (and add an empty-layer history
 * entry); filesystem steps add a layer (or nothing, when their diff is empty, as BuildKit drops
 * empty layers).
 */

/** The runtime config, as in the OCI image config's `config` (Docker's field names). */
export type RuntimeConfig = ContainerConfig;
export type { HealthConfig } from "@tsbuild/oci";

export type HistoryRecord = HistoryEntry;

export interface ImageState {
  config: RuntimeConfig;
  author?: string;
  os: string;
  architecture: string;
  variant?: string;
  history: HistoryRecord[];
}

export function cloneState(state: ImageState): ImageState {
  return structuredClone(state);
}

/** Env as an ordered map (first occurrence's position kept, as docker keeps it). */
export function getEnv(config: RuntimeConfig, key: string): string | undefined {
  for (const kv of config.Env ?? []) {
    const eq = kv.indexOf("=");
    if ((eq === -1 ? kv : kv.slice(0, eq)) === key) return eq === -1 ? "" : kv.slice(eq + 1);
  }
  return undefined;
}

/** Sets KEY=VALUE, replacing an existing KEY in place or appending. */
export function setEnv(config: RuntimeConfig, key: string, value: string): void {
  const env = config.Env ?? [];
  const i = env.findIndex((kv) => (kv.indexOf("=") === -1 ? kv : kv.slice(0, kv.indexOf("="))) === key);
  if (i === -1) env.push(`${key}=${value}`);
  else env[i] = `${key}=${value}`;
  config.Env = env;
}

export function envMap(config: RuntimeConfig): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of config.Env ?? []) {
    const eq = kv.indexOf("=");
    m.set(eq === -1 ? kv : kv.slice(0, eq), eq === -1 ? "" : kv.slice(eq + 1));
  }
  return m;
}

/** A stage's state as its base image's config gives it (a copy: the stage changes its own). */
export function baseImageState(config: ImageConfig): ImageState {
  return {
    config: structuredClone(config.config ?? {}) as ImageState["config"],
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
    history: structuredClone(config.history ?? []),
    ...(config.author ? { author: config.author } : {}),
  };
}
