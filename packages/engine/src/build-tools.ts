/**
 * The system tools a build will run, checked before it starts anything (no snapshot made, nothing
 * to clean): the snapshotter's, and runc (chroot with --isolation=chroot) when a stage has a RUN. What only some steps use (zstd,
 * bzip2, xz, setfattr, git) is checked where it is first used, by `toolPath`.
 */
import { requireTools, type ToolName } from "@tsbuild/oci";
import type { BuildGraph } from "@tsbuild/dockerfile";
import type { Snapshotter } from "@tsbuild/snapshot";

export function checkBuildTools(graph: BuildGraph, snapshotter: Pick<Snapshotter, "tools">, runner: "runc" | "chroot" = "runc"): void {
  const runs = graph.stages.some((s) => s.instructions.some((i) => i.kind === "run"));
  requireTools([...snapshotter.tools, ...(runs ? ([runner] as ToolName[]) : [])]);
}
