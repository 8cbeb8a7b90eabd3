/**
 * COPY --link (link-step.ts): the layer is made on an empty root and keyed without the steps before
 * it, so a build whose base image or an earlier RUN changed reuses it — the same blob, nothing
 * copied — on the new layers (the image is rebased), and what follows sees the files; a changed
 * source file misses. A plain COPY in the same place reruns, as it must.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store, type Digest, type ImageManifest } from "@tsbuild/oci";
import { build, parseCacheFrom, parseCacheTo, type BuildEvent, type BuildOptions } from "../src/index.js";
import { busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-link-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
let baseTar: Buffer;
afterAll(() => rmSync(work, { recursive: true, force: true }));

const DOCKERFILE = (copy: string) => [
  "ARG BASE=base:1",
  "FROM $BASE",
  "ARG V=1",
  // /app exists below the copy with another mode: the --link layer's /app (0755, root) replaces it
  "RUN echo $V > /v && mkdir -p /app && chmod 700 /app && date +%s%N > /stamp",
  `${copy} app /app/`,
  "RUN cat /app/f0.txt /app/sub/f1.txt /v > /seen && ls /app | wc -l >> /seen && stat -c '%a %u:%g' /app >> /seen",
].join("\n");

beforeAll(async () => {
  baseTar = busyboxTar(makeBusyboxRootfs(join(work, "rootfs")));
  await storeBaseImage(root, "base:1", baseTar);
  mkdirSync(join(ctx, "app", "sub"), { recursive: true });
  for (let i = 0; i < 40; i++) writeFileSync(join(ctx, "app", i % 2 ? `sub/f${i}.txt` : `f${i}.txt`), `file ${i}\n`);
  // base:2: base:1 and one more layer (a changed base image)
  const b2 = join(work, "b2");
  mkdirSync(b2);
  writeFileSync(join(b2, "Dockerfile"), "FROM base:1\nRUN echo two > /two\n");
  await build({ context: b2, root, tags: ["base:2"], platform: { os: "linux", architecture: "amd64" } });
}, 120_000);

interface Built {
  /** the COPY step: cached or not, its record's key, its layer's diff id */
  copy: { cached: boolean; key: string; layer?: string };
  /** every step after FROM: ran or cached */
  steps: string[];
  /** the image's layer blobs, bottom first */
  layers: Digest[];
  seen: string;
  files: string[];
}

async function run(copy: string, extra: Partial<BuildOptions> = {}, store = root): Promise<Built> {
  writeFileSync(join(ctx, "Dockerfile"), DOCKERFILE(copy));
  const events: BuildEvent[] = [];
  const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
  const r = await build({
    context: ctx, root: store, platform: { os: "linux", architecture: "amd64" }, onEvent: (e) => events.push(e), outputs: [{ type: "local", dest: out }], ...extra,
  });
  const copyStart = events.find((e): e is Extract<BuildEvent, { type: "step-start" }> => e.type === "step-start" && e.instruction.startsWith("COPY"));
  const done = events.find((e): e is Extract<BuildEvent, { type: "step-done" }> => e.type === "step-done" && e.id === copyStart?.id);
  const s = await Store.open(store);
  const chunks: Buffer[] = [];
  for await (const c of s.content.reader(r.manifestDigest)) chunks.push(c as Buffer);
  const manifest = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ImageManifest;
  const seen = readFileSync(join(out, "seen"), "utf8");
  const files = ["two", "app/f0.txt", "app/sub/f39.txt"].filter((f) => { try { return statSync(join(out, f)).isFile(); } catch { return false; } });
  rmSync(out, { recursive: true, force: true });
  return {
    copy: { cached: done?.cached === true, key: done?.cacheKey ?? "", ...(done?.layer ? { layer: done.layer } : {}) },
    steps: r.steps.filter((x) => /^(RUN|COPY)/.test(x.instruction)).map((x) => `${x.cached ? "cached" : "ran"} ${x.instruction.split(" ")[0]}`),
    layers: manifest.layers.map((l) => l.digest),
    seen, files,
  };
}

const LINK = "COPY --link";

describe("COPY --link: a layer that does not depend on the layers below it", () => {
  let first: Built;
  it("a first build copies onto an empty root: the layer's /app replaces the base's (0755, root)", async () => {
    first = await run(LINK);
    expect(first.steps).toEqual(["ran RUN", "ran COPY", "ran RUN"]);
    expect(first.seen).toBe("file 0\nfile 1\n1\n21\n755 0:0\n");
    expect(first.layers).toHaveLength(4);
  });

  it("an earlier RUN changed: the --link step is a hit, the same blob sits on the new layer, what follows sees the files", async () => {
    const r = await run(LINK, { buildArgs: { V: "2" } });
    expect(r.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
    expect(r.copy).toEqual({ ...first.copy, cached: true });
    expect(r.layers[2]).toBe(first.layers[2]);
    expect(r.layers[1]).not.toBe(first.layers[1]);
    expect(r.seen).toBe("file 0\nfile 1\n2\n21\n755 0:0\n");
  });

  it("the base image changed: the image is rebased, the --link layer the same blob", async () => {
    const r = await run(LINK, { buildArgs: { BASE: "base:2" } });
    expect(r.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
    expect(r.copy).toEqual({ ...first.copy, cached: true });
    expect(r.layers).toHaveLength(5);
    expect(r.layers[3]).toBe(first.layers[2]);
    expect(r.files).toEqual(["two", "app/f0.txt", "app/sub/f39.txt"]);
    expect(r.seen).toBe("file 0\nfile 1\n1\n21\n755 0:0\n");
  });

  it("an unchanged rebuild hits every step; the step's cache key leaves the stage out, the stage's key after it does not", async () => {
    const r = await run(LINK);
    expect(r.steps).toEqual(["cached RUN", "cached COPY", "cached RUN"]);
    expect(r.layers).toEqual(first.layers);
  });

  it("a changed source file misses, and only then is the copy made again", async () => {
    writeFileSync(join(ctx, "app", "f0.txt"), "changed\n");
    try {
      const r = await run(LINK, { buildArgs: { V: "3" } });
      expect(r.steps).toEqual(["ran RUN", "ran COPY", "ran RUN"]);
      expect(r.copy.key).not.toBe(first.copy.key);
      expect(r.copy.layer).not.toBe(first.copy.layer);
      expect(r.seen).toBe("changed\nfile 1\n3\n21\n755 0:0\n");
    } finally {
      writeFileSync(join(ctx, "app", "f0.txt"), "file 0\n");
    }
  });

  it("a plain COPY after a changed RUN runs again (and keeps the base's /app mode)", async () => {
    await run("COPY");
    const r = await run("COPY", { buildArgs: { V: "4" } });
    expect(r.steps).toEqual(["ran RUN", "ran COPY", "ran RUN"]);
    expect(r.seen).toBe("file 0\nfile 1\n4\n21\n700 0:0\n");
  });

  it("--cache-from brings the --link layer to another store, on another layer below it", async () => {
    const dir = join(work, "cache-export");
    await run(LINK, { cacheTo: [parseCacheTo(`type=local,dest=${dir},mode=max`)] });
    const other = join(work, "store-other");
    await storeBaseImage(other, "base:1", baseTar);
    const r = await run(LINK, { buildArgs: { V: "5" }, cacheFrom: [parseCacheFrom(`type=local,src=${dir}`)] }, other);
    expect(r.steps).toEqual(["ran RUN", "cached COPY", "ran RUN"]);
    expect(r.layers[2]).toBe(first.layers[2]);
    expect(r.seen).toBe("file 0\nfile 1\n5\n21\n755 0:0\n");
  });
});
