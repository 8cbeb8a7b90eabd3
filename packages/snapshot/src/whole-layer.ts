/**
 * Whether an overlay upper directory made on no parent is all of its layer (merge.ts), so that as a
 * lowerdir of another chain it is exactly that layer applied there. Its diff (overlay-diff.ts)
 * gives every entry as it is, whiteouts and opaque directories as the layer's (the same meaning as
 * a lowerdir's), so two things alone make the directory and the layer differ:
 * - a name starting with ".wh.": a file to overlayfs, a deletion to whoever applies the tar;
 * - an extended attribute: a layer diff carries none (overlay's opaque marker, which it carries as
 *   an opaque entry, aside).
 */
import { readXattrs, type LayerEntry } from "@tsbuild/oci";
import { exec } from "./exec.js";
import { overlayXattrs } from "./mounts.js";

const WHITEOUT_PREFIX = ".wh.";

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** No extended attribute under `dir` but overlay's opaque marker (false when it cannot be told). */
async function noXattrs(dir: string): Promise<boolean> {
  try {
    const all = await readXattrs(dir);
    const opaque = overlayXattrs().opaque;
    return [...all.values()].every((rec) => Object.keys(rec).every((k) => k === opaque));
  } catch {
    return false;
  }
}

/** Watches a diff of `upper` as it goes by (its xattrs read meanwhile, one getfattr for the tree). */
export class WholeLayerWatch {
  private readonly xattrs: Promise<boolean>;
  private namesOk = true;
  private finished = false;

  constructor(upper: string) {
    this.xattrs = noXattrs(upper);
  }

  async *watch(entries: AsyncIterable<LayerEntry>): AsyncIterable<LayerEntry> {
    for await (const e of entries) {
      if (baseName(e.path).startsWith(WHITEOUT_PREFIX)) this.namesOk = false;
      yield e;
    }
    this.finished = true;
  }

  /** True when the whole diff went by, with no ".wh." name, and the tree has no xattr. */
  async whole(): Promise<boolean> {
    const xattrs = await this.xattrs;
    return this.finished && this.namesOk && xattrs;
  }
}

/** The same, for a directory whose diff nobody read (a layer unpacked into it): one find and one getfattr. */
export async function wholeLayerDir(upper: string): Promise<boolean> {
  const [names, xattrs] = await Promise.all([
    exec("find", [".", "-name", `${WHITEOUT_PREFIX}*`, "-print", "-quit"], { cwd: upper }).then((r) => r.code === 0 && r.stdout.trim() === ""),
    noXattrs(upper),
  ]);
  return names && xattrs;
}
