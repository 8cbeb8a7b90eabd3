/**
 * The proxy build args (HTTP_PROXY family): predefined, so they need no ARG; they reach RUN's
 * environment but are never persisted: not in the image config, not in the history, not in a cache
 * record, and not in the cache key (BuildKit drops ProxyEnv from an exec's cache key), so a
 * different proxy does not rerun a step.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, type Dirent } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store, type ImageConfig } from "@tsbuild/oci";
import { build, type BuildOptions } from "../src/index.js";
import { BASE_ENV_PATH } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBusyboxBase } from "./helpers/busybox-base.js";

const work = mkdtempSync(join(tmpdir(), "tsbuild-proxy-"));
const root = join(work, "store");
const ctx = join(work, "ctx");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SECRET = "proxy-password-4711";
const PROXY = { HTTP_PROXY: `http://user:${SECRET}@proxy.example:3128`, https_proxy: `http://${SECRET}@tls.example:3128`, NO_PROXY: "localhost,.internal" };

beforeAll(async () => {
  await storeBusyboxBase(root, "base:1", work);
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "Dockerfile"), [
    "FROM base:1",
    "ARG DECLARED=d",
    'RUN echo "$HTTP_PROXY|$https_proxy|$NO_PROXY|$DECLARED" > /seen',
    "ENV AFTER=1",
  ].join("\n"));
}, 60_000);

const run = (extra: Partial<BuildOptions> = {}) =>
  build({ context: ctx, root, platform: { os: "linux", architecture: "amd64" }, ...extra });

async function configOf(imageId: string): Promise<ImageConfig> {
  const store = await Store.open(root);
  return JSON.parse((await store.content.readBytes(imageId as `sha256:${string}`)).toString("utf8")) as ImageConfig;
}

describe("proxy build args", () => {
  let first: Awaited<ReturnType<typeof run>>;
  it("reach RUN's environment without an ARG, and draw no unused-arg warning", async () => {
    const out = join(work, "out");
    first = await run({ buildArgs: PROXY, outputs: [{ type: "image" }, { type: "local", dest: out }] });
    expect(readFileSync(join(out, "seen"), "utf8")).toBe(`${PROXY.HTTP_PROXY}|${PROXY.https_proxy}|${PROXY.NO_PROXY}|d\n`);
    expect(first.warnings).toEqual([]);
    expect(first.steps.find((s) => s.instruction.startsWith("RUN"))?.cached).toBe(false);
  }, 60_000);
  it("are not in the image config or its history", async () => {
    const config = await configOf(first.imageId);
    const text = JSON.stringify(config);
    expect(text).not.toContain(SECRET);
    expect(config.config?.Env).toEqual([BASE_ENV_PATH, "AFTER=1"]);
    const runEntry = config.history?.find((h) => h.created_by?.includes("RUN"));
    // the declared ARG is recorded, as BuildKit records it; the proxy args are not
    expect(runEntry?.created_by).toBe('RUN |1 DECLARED=d /bin/sh -c echo "$HTTP_PROXY|$https_proxy|$NO_PROXY|$DECLARED" > /seen # buildkit');
  });
  it("are not written anywhere in the store but the layer the RUN itself wrote them to", async () => {
    const config = await configOf(first.imageId);
    const runLayer = (config.rootfs.diff_ids.at(-1) as string).replace("sha256:", "");
    const records = readdirSync(join(root, "cache", "records"));
    expect(records.length).toBeGreaterThan(0);
    const files = (readdirSync(root, { recursive: true, withFileTypes: true }) as Dirent[])
      .filter((e) => e.isFile() && !join(e.parentPath, e.name).startsWith(join(root, "snapshots")) && e.name !== runLayer)
      .map((e) => join(e.parentPath, e.name));
    expect(files.some((f) => f.includes(join("cache", "records")))).toBe(true);
    for (const f of files) expect(readFileSync(f, "utf8").includes(SECRET), f).toBe(false);
  });
  it("are not in the cache key: another proxy, or none, reuses the step", async () => {
    const other = await run({ buildArgs: { HTTP_PROXY: "http://other.example:8080" } });
    expect(other.steps.find((s) => s.instruction.startsWith("RUN"))?.cached).toBe(true);
    expect(other.imageId).toBe(first.imageId);
    const none = await run();
    expect(none.steps.map((s) => s.cacheKey)).toEqual(first.steps.map((s) => s.cacheKey));
    expect(none.imageId).toBe(first.imageId);
  }, 60_000);
  it("a proxy arg the Dockerfile declares is an ordinary ARG: in the history and the key", async () => {
    writeFileSync(join(ctx, "Dockerfile"), "FROM base:1\nARG HTTP_PROXY\nRUN echo \"$HTTP_PROXY\" > /seen\n");
    const r = await run({ buildArgs: { HTTP_PROXY: "http://declared.example:1" } });
    const config = await configOf(r.imageId);
    expect(config.history?.at(-1)?.created_by).toBe('RUN |1 HTTP_PROXY=http://declared.example:1 /bin/sh -c echo "$HTTP_PROXY" > /seen # buildkit');
    const again = await run({ buildArgs: { HTTP_PROXY: "http://declared.example:2" } });
    expect(again.steps.at(-1)?.cached).toBe(false);
  }, 60_000);
});
