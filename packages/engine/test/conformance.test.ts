/**
 * Conformance without dockerd: every case of ../shared/conformance/{cases,buildah-suite} is built
 * by tsbuild on a busybox base made like oracle.sh's, exported as an OCI archive, flattened by our
 * own code and compared with the golden recorded from BuildKit (fixtures/goldens/).
 * Cases that do not match yet are listed in KNOWN with the reason; the test fails if one of them
 * starts to match (update the list) or if any other case differs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Readable } from "node:stream";
import { MediaTypes, Store, writeImage, writeOciLayout, DigestingStream, type Descriptor } from "@tsbuild/oci";
import { build, parseContextValue, parseEntitlements, type Entitlement, type NamedContextSpec } from "../src/index.js";
import { parsePlatform } from "@tsbuild/dockerfile";
import { makeBusyboxRootfs, busyboxTar, BASE_ENV_PATH, ARM64_BUSYBOX } from "../../../fixtures/support/busybox-rootfs.js";
import { platformRunnable } from "@tsbuild/runtime";
import { compareWithGolden, flattenArchive, readGolden, type FlatImage } from "../../../fixtures/support/flatten-image.js";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const shared = join(repo, "../shared/conformance");
const have = existsSync(shared);
if (!have) console.warn(`skipping the conformance builds: ${shared} is absent`);

/** Cases known to differ from BuildKit, with the reason (keep this list short and honest). */
const KNOWN: Record<string, string> = {
  "user-workdir": "the RUN writes `ls -ld` output, which holds the build time: it can only match in the minute BuildKit ran",
  "workdir-chain": "the RUN writes `ls -la` output, which holds the build time",
};

/**
 * Cases built for another platform (`--platform linux/arm64` in their args) build FROM
 * localhost:5000/busybox-multi:latest (fixtures/goldens/push-busybox-multi.mjs pushed it for the
 * oracle) and need QEMU: tsbuild builds them as a two-platform index (the host's and theirs) and the
 * image of their platform is compared with the golden BuildKit built for that platform alone.
 */
const arm64 = platformRunnable({ os: "linux", architecture: "arm64" });
const canArm64 = arm64.ok && existsSync(ARM64_BUSYBOX);
if (!canArm64) console.warn(`conformance: the linux/arm64 cases are skipped: ${arm64.ok ? `no arm64 busybox at ${ARM64_BUSYBOX} (scripts/setup-emulation.sh)` : arm64.why}`);
const foreign = (dir: string) => {
  const p = argsOf(dir).platform;
  return p !== undefined && parsePlatform(p)?.architecture !== "amd64" && parsePlatform(p)?.architecture !== "arm" ? parsePlatform(p) : undefined;
};

const work = mkdtempSync(join(tmpdir(), "tsbuild-conformance-"));
let store: Store;
let base: FlatImage;
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeAll(async () => {
  store = await Store.open(join(work, "store"));
  const rootfs = makeBusyboxRootfs(join(work, "rootfs"));
  const tar = busyboxTar(rootfs);
  const hashed = Readable.from([tar]).pipe(new DigestingStream());
  const blob = await store.content.ingest(hashed);
  const img = await writeImage(store.content, {
    // as docker import writes it (empty User/WorkingDir included): BuildKit drops the empty fields
    architecture: "amd64", os: "linux", config: { Env: [BASE_ENV_PATH], Cmd: ["sh"], User: "", WorkingDir: "" },
    history: [{ created: new Date(0).toISOString(), comment: "Imported from -" }],
  }, [{ descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest: blob.digest, size: blob.size }, diffId: blob.digest }]);
  await store.images.put("localhost:5000/busybox:latest", img.manifest);
  if (canArm64) {
    // busybox-multi: this image for amd64, the same files with the arm64 busybox for arm64
    const armTar = busyboxTar(makeBusyboxRootfs(join(work, "rootfs-arm64"), { busybox: ARM64_BUSYBOX }));
    const armBlob = await store.content.ingest(Readable.from([armTar]).pipe(new DigestingStream()));
    const armImg = await writeImage(store.content, { architecture: "arm64", os: "linux", config: { Env: [BASE_ENV_PATH], Cmd: ["sh"] } },
      [{ descriptor: { mediaType: MediaTypes.OCI_LAYER_TAR, digest: armBlob.digest, size: armBlob.size }, diffId: armBlob.digest }]);
    const index = await store.content.putBytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.OCI_INDEX, manifests: [
      { ...img.manifest, platform: { architecture: "amd64", os: "linux" } }, { ...armImg.manifest, platform: { architecture: "arm64", os: "linux" } },
    ] }));
    await store.images.put("localhost:5000/busybox-multi:latest", { mediaType: MediaTypes.OCI_INDEX, digest: index.digest, size: index.size });
  }
  const baseTar = join(work, "base.tar");
  await writeOciLayout(store.content, [{ name: "busybox", target: img.manifest as Descriptor }], baseTar, { tar: true });
  base = await flattenArchive(baseTar);
}, 120_000);

/**
 * A case's `args` (one build flag per line, as oracle.sh and record.sh pass them to docker):
 * --build-arg, --target, --secret id=ID,src=PATH (PATH relative to the repository root, where
 * oracle.sh and record.sh are run) or id=ID,env=VAR, --allow ENTITLEMENT, and --build-context
 * NAME=VALUE (a directory relative to the repository root, as for --secret).
 */
type CaseArgs = { buildArgs: Record<string, string>; target?: string; platform?: string; secrets: Map<string, Buffer>; allow: Entitlement[]; buildContexts: Record<string, NamedContextSpec> };
function argsOf(dir: string): CaseArgs {
  const out: CaseArgs = { buildArgs: {}, secrets: new Map(), allow: [], buildContexts: {} };
  if (!existsSync(join(dir, "args"))) return out;
  const lines = readFileSync(join(dir, "args"), "utf8").split("\n").map((l) => l.trim()).filter(Boolean);
  for (let i = 0; i < lines.length; i++) {
    const a = lines[i] as string;
    const val = () => (a.includes("=") && a.startsWith("--") && a.indexOf("=") < a.length - 1 && !a.startsWith("--build-arg ") ? a.slice(a.indexOf("=") + 1) : (lines[++i] as string));
    if (a.startsWith("--build-arg")) {
      const kv = a.startsWith("--build-arg=") ? a.slice("--build-arg=".length) : a.includes(" ") ? a.slice(a.indexOf(" ") + 1) : val();
      out.buildArgs[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
    } else if (a.startsWith("--target")) out.target = a.includes("=") ? a.slice(a.indexOf("=") + 1) : a.includes(" ") ? a.slice(a.indexOf(" ") + 1) : val();
    else if (a.startsWith("--platform")) out.platform = a.includes("=") ? a.slice(a.indexOf("=") + 1) : a.includes(" ") ? a.slice(a.indexOf(" ") + 1) : val();
    else if (a === "--secret" || a.startsWith("--secret=")) {
      const spec = a === "--secret" ? (lines[++i] as string) : a.slice("--secret=".length);
      const f = Object.fromEntries(spec.split(",").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
      out.secrets.set(f.id as string, f.env !== undefined ? Buffer.from(process.env[f.env] ?? "") : readFileSync(join(repo, f.src as string)));
    } else if (a === "--build-context" || a.startsWith("--build-context=")) {
      const spec = a === "--build-context" ? (lines[++i] as string) : a.slice("--build-context=".length);
      out.buildContexts[spec.slice(0, spec.indexOf("="))] = parseContextValue(spec.slice(spec.indexOf("=") + 1), repo);
    } else if (a === "--allow" || a.startsWith("--allow=")) out.allow.push(...parseEntitlements((a === "--allow" ? (lines[++i] as string) : a.slice("--allow=".length)).split(",")));
    else throw new Error(`${dir}/args: ${a} is not a flag this test reads (extend argsOf)`);
  }
  return out;
}

/** The shared suites (when ../shared is there) and our own cases under fixtures/cases. */
const suites = [...(have ? ["cases", "buildah-suite"] : []), "fixtures"];
const caseRoot = (suite: string) => (suite === "fixtures" ? join(repo, "fixtures/cases") : join(shared, suite));
describe.each(suites)("%s: tsbuild builds what BuildKit builds", (suite) => {
  const all = readdirSync(caseRoot(suite)).filter((n) => existsSync(join(caseRoot(suite), n, "Dockerfile")));
  const names = all.filter((n) => canArm64 || !foreign(join(caseRoot(suite), n)));
  if (names.length < all.length) it.skip.each(all.filter((n) => !names.includes(n)))("%s (needs QEMU and the arm64 busybox)", () => undefined);
  it.each(names)("%s", async (name) => {
    const dir = join(caseRoot(suite), name);
    const golden = readGolden(join(repo, "fixtures/goldens", suite, `${name}.json`));
    const out = join(work, `${suite}-${name}.tar`);
    const other = foreign(dir);
    let error: unknown;
    try {
      const { buildArgs, target, platform, secrets, allow, buildContexts } = argsOf(dir);
      await build({
        context: dir, root: store.root, buildArgs, buildContexts, ...(target ? { target } : {}), network: "host", secrets, allow,
        ...(other ? { platforms: [{ os: "linux", architecture: "amd64" }, other] } : { platform: platform !== undefined ? parsePlatform(platform)! : { os: "linux", architecture: "amd64" } }),
        outputs: [{ type: "oci", dest: out, tar: true }],
      });
    } catch (e) {
      error = e;
    }
    let diffs: string[];
    if (golden.rejected) diffs = error ? [] : ["BuildKit rejects this Dockerfile, tsbuild built it"];
    else if (error) diffs = [`tsbuild failed: ${(error as Error).message}`];
    else diffs = compareWithGolden(await flattenArchive(out, other?.architecture), golden, base);
    rmSync(out, { force: true });
    if (KNOWN[name]) {
      expect(diffs.length, `${name} now matches BuildKit: remove it from KNOWN`).toBeGreaterThan(0);
    } else {
      expect(diffs.join("\n")).toBe("");
    }
  }, 120_000);
});
void execFileSync;
