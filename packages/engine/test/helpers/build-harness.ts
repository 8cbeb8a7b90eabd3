import { afterAll, beforeAll } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, type BuildOptions, type BuildResult, type OutputSpec } from "../../src/index.js";
import { storeBusyboxBase } from "./busybox-base.js";

export interface BuildHarness {
  /** the test file's directory (removed after its tests) */
  work: string;
  /** the store, holding the busybox base as `base:1` */
  root: string;
  /** an empty build context */
  ctx: string;
  /** writes `text` as a new Dockerfile beside the context and builds it into the directory `out` */
  buildText(text: string, options?: Partial<BuildOptions>): Promise<{ r: BuildResult; out: string }>;
}

/**
 * The scaffolding of an engine test that builds many small Dockerfiles on one store: call it at the
 * top of the file (it registers the file's beforeAll and afterAll). With `oci`, every build also
 * writes an OCI archive `OUT.tar`.
 */
export function buildHarness(prefix: string, opts: { oci?: boolean } = {}): BuildHarness {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const root = join(work, "store");
  const ctx = join(work, "ctx");
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  beforeAll(async () => {
    await storeBusyboxBase(root, "base:1", work);
    mkdirSync(ctx, { recursive: true });
  }, 60_000);
  let n = 0;
  async function buildText(text: string, options: Partial<BuildOptions> = {}): Promise<{ r: BuildResult; out: string }> {
    const file = join(ctx, `Dockerfile.${n}`);
    const out = join(work, `out-${n++}`);
    writeFileSync(file, text);
    const outputs: OutputSpec[] = [{ type: "local", dest: out }, ...(opts.oci ? [{ type: "oci" as const, dest: `${out}.tar`, tar: true }] : [])];
    const r = await build({ context: ctx, dockerfile: file, root, platform: { os: "linux", architecture: "amd64" }, outputs, ...options });
    return { r, out };
  }
  return { work, root, ctx, buildText };
}
