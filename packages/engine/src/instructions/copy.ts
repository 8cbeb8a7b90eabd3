import type { CopyInstruction } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { lstat } from "node:fs/promises";
import { posix } from "node:path";
import type { Shortcut } from "../step/fs-step.js";
import type { IncrementalCopy } from "../copy/incremental-copy.js";
import { hasMeta } from "../copy/go-match.js";
import { followInRoot } from "../copy/copier.js";
import type { StageState } from "../solver/state.js";
import type { ContextService } from "../solver/roles.js";
import { copyFiles, CopyError } from "../copy/copier.js";
import { BuildError } from "../errors.js";
import { sourceIdentity, withCopySource } from "../copy/copy-source.js";
import { parseChmod } from "../copy/chmod.js";
import { numericChown, resolveChown } from "../copy/chown.js";
import { copyCreatedBy } from "../step/history.js";
import { copyFlags } from "../copy/copy-flags.js";
import { isGitSource } from "../copy/git-source.js";
import { copyStep } from "../copy/link-copy.js";

export const copy: InstructionHandler<CopyInstruction, "graph" | "steps" | "context" | "sources"> = async (roles, st, i) => {
  const flags = copyFlags(i, { file: roles.graph.file, position: i.position }); // --chmod, --parents, --exclude
  const gitRef = i.sources.find(isGitSource);
  if (gitRef !== undefined) {
    throw new BuildError(`source can't be a git ref for COPY: ${gitRef} reads as a git URL, as in BuildKit (write ./${gitRef.replace(/^\/+/, "")} for the path)`, roles.graph.file, i.position, i.original);
  }
  const sources = i.sources;
  const inline = i.contents.map((c) => ({ name: c.name, content: c.data }));
  const identity = await sourceIdentity(roles, st, i.from, sources, flags.selection);
  const inputs = { source: identity, chown: i.chown ?? "", chmod: i.chmod ?? "", workdir: st.image.config.WorkingDir || "/", heredocs: JSON.stringify(inline), ...flags.inputs };
  const createdBy = copyCreatedBy("COPY", i);
  const plan = await incrementalPlan(roles.context, st, i, sources, inline.length > 0);
  const shortcut: Shortcut | undefined = plan ? roles.steps.incrementalCopy(st, createdBy, inputs, plan) : undefined;
  // the source (a mounted view of a stage or an image for --from) is opened only when the step runs:
  // a cache hit reads nothing from it (its key names the stage's key or the image's id)
  return copyStep(roles, i)(st, createdBy, (root) => withCopySource(roles, st, i.from, async (source) => {
    try {
      const chown = await resolveChown(root, i.chown);
      await copyFiles({
        source, sources, inline, dest: i.dest, workdir: st.image.config.WorkingDir || "/", targetRoot: root,
        ...(chown ? { chown } : {}), ...(flags.chmod ? { chmod: flags.chmod } : {}), selection: flags.selection, instruction: "COPY",
      });
    } catch (e) {
      if (e instanceof CopyError || (e as Error).name === "UserResolutionError") throw new BuildError((e as Error).message, roles.graph.file, i.position, i.original);
      throw e;
    }
  }), inputs, shortcut);
};

/** Where a COPY can be redone from its previous result (incremental-copy.ts): one context directory, owners by number. */
async function incrementalPlan(context: ContextService, st: StageState, i: CopyInstruction, sources: string[], heredocs: boolean): Promise<IncrementalCopy | undefined> {
  const [src] = sources;
  if (i.from !== undefined || heredocs || sources.length !== 1 || src === undefined || hasMeta(src) || i.parents || i.exclude.length) return undefined;
  const chown = i.chown ? numericChown(i.chown) : undefined;
  if (i.chown && !chown) return undefined; // names need the image's /etc/passwd
  const srcDir = posix.normalize(`/${src}`).replace(/^\/+/, "");
  if (srcDir && context.ignore?.excluded(srcDir)) return undefined;
  // no symlink on the way (checked first: the lstat then never crosses one out of the context)
  if (srcDir && (await followInRoot(context.dir, srcDir).catch(() => undefined)) !== srcDir) return undefined;
  const st0 = await lstat(posix.join(context.dir, srcDir)).catch(() => undefined);
  if (!st0?.isDirectory()) return undefined;
  const workdir = st.image.config.WorkingDir || "/";
  const destDir = posix.normalize(i.dest.startsWith("/") ? i.dest : posix.join(workdir, i.dest)).replace(/^\/+/, "").replace(/\/+$/, "");
  const chmod = parseChmod(i.chmod);
  return {
    srcDir, destDir,
    request: {
      source: { root: context.dir, ...(context.ignore ? { ignore: context.ignore } : {}), isContext: true }, sources, inline: [], dest: i.dest, workdir,
      ...(chown ? { chown } : {}), ...(chmod !== undefined ? { chmod } : {}), instruction: "COPY",
    },
  };
}
