import { createReadStream } from "node:fs";
import { open, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { spawn } from "node:child_process";
import type { AddInstruction } from "@tsbuild/dockerfile";
import { applyLayer, toolPath } from "@tsbuild/oci";
import type { InstructionHandler } from "./types.js";
import { copyFiles, CopyError } from "../copy/copier.js";
import { BuildError, NotSupportedError } from "../errors.js";
import { copyFlags } from "../copy/copy-flags.js";
import { isGitSource } from "../copy/git-source.js";
import { resolveChown } from "../copy/chown.js";
import { sourceIdentity } from "../copy/copy-source.js";
import { copyCreatedBy } from "../step/history.js";
import { addChecksum } from "../remote/add-checksum.js";
import { urlSources, UrlSourceError, type UrlSources } from "../remote/add-urls.js";
import { copyStep } from "../copy/link-copy.js";
import { addGit } from "./add-git.js";

/** Recognises a local archive by its first bytes: gzip, bzip2, xz or a plain tar. */
async function archiveKind(path: string): Promise<"gzip" | "bzip2" | "xz" | "tar" | undefined> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    if (bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return "gzip";
    if (bytesRead >= 3 && buf.toString("latin1", 0, 3) === "BZh") return "bzip2";
    if (bytesRead >= 6 && buf.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "xz";
    if (bytesRead === 512 && buf.toString("latin1", 257, 262) === "ustar") return "tar";
    return undefined;
  } finally {
    await fh.close();
  }
}

async function unpack(archive: string, destDir: () => string): Promise<boolean> {
  const kind = await archiveKind(archive);
  if (!kind) return false;
  let stream: Readable = createReadStream(archive);
  if (kind === "bzip2" || kind === "xz") {
    const child = spawn(toolPath(kind === "bzip2" ? "bzip2" : "xz"), ["-dc"], { stdio: ["pipe", "pipe", "inherit"] });
    stream.pipe(child.stdin);
    stream = child.stdout;
  }
  await applyLayer(stream, destDir());
  return true;
}

export const add: InstructionHandler<AddInstruction, "graph" | "steps" | "context" | "sources" | "containers" | "downloads"> = async (roles, st, i) => {
  // BuildKit clones these (add-git.ts): fetching the URL as a file (or looking for it in the context) would be another image
  if (i.sources.some(isGitSource)) return addGit(roles, st, i);
  const flags = copyFlags(i, { file: roles.graph.file, position: i.position }); // --chmod, --exclude
  const checksum = addChecksum(i, { file: roles.graph.file, position: i.position });
  // --unpack: local archives unpack unless --unpack=false, downloads only with --unpack=true
  const unpackLocal = i.unpack !== false;
  const unpackDownload = i.unpack === true;
  const urls = i.sources.filter((s) => /^https?:\/\//.test(s));
  const locals = i.sources.filter((s) => !/^https?:\/\//.test(s));
  const inline = i.contents.map((c) => ({ name: c.name, content: c.data }));
  const dl = await roles.sources.scratchDir("add");
  try {
    // URLs (remote/add-urls.ts): downloaded now unless a checksum keys the step; their digests are in its key
    let remote: UrlSources | undefined;
    try {
      remote = urls.length ? await urlSources(roles.downloads, urls, checksum, dl) : undefined;
    } catch (e) {
      if (e instanceof UrlSourceError) throw new BuildError(e.message, roles.graph.file, i.position, i.original);
      throw e;
    }
    const inputs = {
      source: await sourceIdentity(roles, st, undefined, locals, flags.selection), chown: i.chown ?? "", chmod: i.chmod ?? "", workdir: st.image.config.WorkingDir || "/", heredocs: JSON.stringify(inline),
      ...flags.inputs, ...(unpackLocal ? {} : { unpack: "false" }),
      ...(remote ? { downloads: remote.input, ...(unpackDownload ? { unpackDownloads: "true" } : {}) } : {}),
    };
    return await copyStep(roles, i)(st, copyCreatedBy("ADD", i), async (root) => {
      try {
        const chown = await resolveChown(root, i.chown);
        const common = {
          dest: i.dest, workdir: st.image.config.WorkingDir || "/", targetRoot: root, ...(chown ? { chown } : {}),
          ...(flags.chmod ? { chmod: flags.chmod } : {}), selection: flags.selection, instruction: "ADD" as const,
        };
        if (locals.length || inline.length) {
          await copyFiles({ ...common, source: { root: roles.context.dir, ignore: roles.context.ignore, isContext: true }, sources: locals, inline, ...(unpackLocal ? { unpack } : {}) });
        }
        if (remote) {
          // a downloaded file is unpacked only with --unpack=true; it keeps mode 0600 unless --chmod
          await copyFiles({ ...common, source: { root: dl, isContext: true }, sources: await remote.files(), ...(unpackDownload ? { unpack } : {}) });
        }
      } catch (e) {
        if (e instanceof CopyError || e instanceof UrlSourceError) throw new BuildError(e.message, roles.graph.file, i.position, i.original);
        throw e;
      }
    }, inputs);
  } finally {
    await rm(dl, { recursive: true, force: true });
  }
};
