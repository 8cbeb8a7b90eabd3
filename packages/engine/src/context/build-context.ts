/**
 * The build context: a directory (or a tar unpacked into one), with .dockerignore applied
 * (`<Dockerfile>.dockerignore` beside the Dockerfile wins over CONTEXT/.dockerignore), as BuildKit
 * sends it: excluded paths are invisible to COPY/ADD. CONTEXT/.dockerignore is read inside the
 * context: a symlink there resolves as if the context were "/" (a link to a host file is not read).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { IgnoreMatcher, parseDockerignore } from "./dockerignore.js";
import { followInRoot } from "../copy/copier.js";

export interface BuildContext {
  dir: string;
  ignore: IgnoreMatcher;
}

export async function loadContext(dir: string, dockerfilePath?: string): Promise<BuildContext> {
  let text: string | undefined;
  if (dockerfilePath) text = await readFile(`${dockerfilePath}.dockerignore`, "utf8").catch(() => undefined);
  if (text === undefined) {
    const inside = await followInRoot(dir, ".dockerignore").catch(() => undefined);
    if (inside !== undefined) text = await readFile(join(dir, inside), "utf8").catch(() => undefined);
  }
  return { dir, ignore: new IgnoreMatcher(text ? parseDockerignore(text) : []) };
}
