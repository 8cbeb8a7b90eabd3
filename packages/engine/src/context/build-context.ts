/**
 * The build context: a directory (or a tar unpacked into one), with .dockerignore applied
 * (`<Dockerfile>.dockerignore` beside the Dockerfile wins over CONTEXT/.dockerignore), as BuildKit
 * sends it: excluded paths are invisible to COPY/ADD.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { IgnoreMatcher, parseDockerignore } from "./dockerignore.js";

export interface BuildContext {
  dir: string;
  ignore: IgnoreMatcher;
}

export async function loadContext(dir: string, dockerfilePath?: string): Promise<BuildContext> {
  let text: string | undefined;
  if (dockerfilePath) text = await readFile(`${dockerfilePath}.dockerignore`, "utf8").catch(() => undefined);
  if (text === undefined) text = await readFile(join(dir, ".dockerignore"), "utf8").catch(() => undefined);
  return { dir, ignore: new IgnoreMatcher(text ? parseDockerignore(text) : []) };
}
