import type { CopyInstruction } from "@tsbuild/dockerfile";
import { chompHeredocContent } from "@tsbuild/dockerfile";
import type { InstructionHandler } from "./types.js";
import { fsStep } from "../fs-step.js";
import { copyFiles, CopyError } from "../fileops/copy.js";
import { BuildError, NotSupportedError } from "../errors.js";
import { sourceIdentity, withCopySource } from "./copy-source.js";
import { parseChmod, resolveChown } from "./owner.js";

export const copy: InstructionHandler<CopyInstruction> = async (env, st, i) => {
  if (i.parents) throw new NotSupportedError("COPY --parents is not supported yet");
  if (i.exclude.length) throw new NotSupportedError("COPY --exclude is not supported yet");
  const heredocNames = new Set(i.heredocs.map((h) => `<<${h.name}`));
  const sources = i.sources.filter((s) => !/^<<-?/.test(s) || !i.heredocs.some((h) => s.replace(/^<<-?/, "").replace(/["']/g, "") === h.name));
  const inline = i.heredocs.map((h) => ({ name: h.name, content: h.chomp ? chompHeredocContent(h.content) : h.content }));
  void heredocNames;
  const identity = await sourceIdentity(env, st, i.from, sources);
  const inputs = { source: identity, chown: i.chown ?? "", chmod: i.chmod ?? "", workdir: st.image.config.WorkingDir || "/", heredocs: JSON.stringify(inline) };
  return withCopySource(env, st, i.from, (source) =>
    fsStep(env, st, `COPY ${[...i.sources, i.dest].join(" ")} # buildkit`, async (root) => {
      try {
        const chown = await resolveChown(root, i.chown);
        const chmod = parseChmod(i.chmod);
        await copyFiles({
          source, sources, inline, dest: i.dest, workdir: st.image.config.WorkingDir || "/", targetRoot: root,
          ...(chown ? { chown } : {}), ...(chmod !== undefined ? { chmod } : {}), instruction: "COPY",
        });
      } catch (e) {
        if (e instanceof CopyError || (e as Error).name === "UserResolutionError") throw new BuildError((e as Error).message, env.graph.file, i.position, i.original);
        throw e;
      }
    }, inputs),
  );
};
