import type { Stage } from "@tsbuild/dockerfile";

/** How a stage is named in progress, step records, cache records and --no-cache-filter: its name, else its index. */
export function stageLabel(s: Stage): string {
  return s.name ?? String(s.index);
}
