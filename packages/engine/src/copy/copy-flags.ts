/**
 * COPY/ADD's --chmod, --parents and --exclude, checked at the instruction (after its variables are
 * expanded) as BuildKit's frontend checks them before anything runs, and what they add to the
 * step's cache key. A bad value is a DockerfileError at the instruction's line.
 */
import { DockerfileError, type Position } from "@tsbuild/dockerfile";
import { ChmodError, parseChmod, type ChmodSpec } from "./chmod.js";
import { CopyFilter } from "./copy-filter.js";
import { copyUnits, type CopySelection } from "./copy-units.js";
import { PatternSyntaxError } from "./path-patterns.js";

export interface CopyFlags {
  chmod?: ChmodSpec;
  selection: CopySelection;
  /** the step inputs --parents and --exclude add (none without them: such a COPY's key is what it was) */
  inputs: Record<string, string>;
}

export function copyFlags(
  i: { chmod?: string; parents?: boolean; exclude: readonly string[]; sources: readonly string[] }, where: { file: string; position: Position },
): CopyFlags {
  let chmod: ChmodSpec | undefined;
  try {
    chmod = parseChmod(i.chmod);
  } catch (e) {
    if (e instanceof ChmodError) throw new DockerfileError("bad-flag", e.message, where.file, where.position, "use an octal mode (0755) or a symbolic one (u=rwX,go=rX, +x)");
    throw e;
  }
  const selection: CopySelection = { parents: i.parents ?? false, exclude: i.exclude };
  try {
    CopyFilter.of(undefined, i.exclude);
  } catch (e) {
    if (e instanceof PatternSyntaxError) throw new DockerfileError("bad-flag", `invalid --exclude pattern: ${e.message}`, where.file, where.position);
    throw e;
  }
  // --parents: what each source selects below the root or its pivot is a pattern too
  for (const unit of selection.parents ? copyUnits(i.sources, selection) : []) {
    try {
      CopyFilter.of([unit.include ?? ""], []);
    } catch (e) {
      if (e instanceof PatternSyntaxError) throw new DockerfileError("bad-flag", `COPY --parents ${unit.written}: ${e.message}`, where.file, where.position);
      throw e;
    }
  }
  const inputs: Record<string, string> = {
    ...(selection.parents ? { parents: "true" } : {}),
    ...(selection.exclude.length ? { exclude: JSON.stringify(selection.exclude) } : {}),
  };
  return { ...(chmod ? { chmod } : {}), selection, inputs };
}
