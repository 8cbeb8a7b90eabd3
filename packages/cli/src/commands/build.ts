import { readFile, stat, writeFile } from "node:fs/promises";
import { resolve, dirname } from "node:path";
import { AnnotationError, build, BuildContextError, BuildError, OutputError, parseAnnotationFlag, parseEntitlements, parseOutput, parseSshSpec, SshSpecError, type Annotation, type Entitlement, type OutputSpec, type SshSpec, type StepRecord } from "@tsbuild/engine";
import { parseCacheOptions } from "../cache-options.js";
import { DockerfileError, parsePlatform } from "@tsbuild/dockerfile";
import type { Readable } from "node:stream";
import { abortOnSignals } from "@tsbuild/runtime";
import type { Command } from "../command.js";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from "../command.js";
import { flag, list, parseArgs, str, UsageError, type OptionSpec } from "../args.js";
import { parseBuildArgs } from "../build-args.js";
import { parseSecretSpec } from "../secret-spec.js";
import { parseBuildContexts } from "../build-context-spec.js";
import { readTextInput } from "../read-input.js";
import { progressPrinter, type ProgressMode } from "../progress.js";
import { COMPRESSION_OPTION, parseCompression } from "../compression-option.js";
import { isolationOption, ROOT_OPTION, snapshotterOption, storeRoot } from "../store-options.js";
import { INSECURE_OPTION } from "../registry-options.js";

/** --explain: every step that missed, with why, after the build (the live view has scrolled by). */
function explainSummary(steps: StepRecord[]): string {
  const missed = steps.filter((s) => !s.cached && s.explain);
  if (missed.length === 0) return "explain: every step came from the cache\n";
  return `explain: ${missed.length} step${missed.length === 1 ? "" : "s"} missed the cache:\n${missed.map((s) => `  ${s.position}  ${s.explain}\n`).join("")}`;
}

const USAGE = "tsbuild [build] [-t NAME]... [-f FILE] [--build-arg K=V]... [--target S] [-o SPEC] [OPTIONS] CONTEXT";

/** BuildKit's MaxSecretSize */
const MAX_SECRET = 500 * 1024;
/** Go's syscall error strings, for the errors buildx prints */
const GO_ERRNO: Record<string, string> = { ENOENT: "no such file or directory", EACCES: "permission denied", ENOTDIR: "not a directory", EISDIR: "is a directory", ELOOP: "too many levels of symbolic links" };
const goErr = (e: unknown) => GO_ERRNO[(e as NodeJS.ErrnoException).code ?? ""] ?? (e as Error).message;

/**
 * The --secret values, as BuildKit's secretsprovider store takes them (a later id wins): a file must
 * exist and hold at most 500 KiB ("failed to stat F: stat F: …", "secret ID too big. max size
 * 500KiB"); an unset variable is an empty secret. Files are read here, not when a RUN asks.
 */
async function parseSecrets(specs: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const s of specs) {
    const secret = parseSecretSpec(s);
    if (!secret) continue;
    // neither src= nor env=: the variable named ID if it is set, else the file named ID (as BuildKit's secrets provider)
    const name = secret.env ?? (secret.src === undefined && env[secret.id] !== undefined ? secret.id : undefined);
    if (name !== undefined) {
      out.set(secret.id, Buffer.from(env[name] ?? ""));
      continue;
    }
    const file = secret.src ?? secret.id;
    const st = await stat(resolve(cwd, file)).catch((e: unknown) => {
      throw new UsageError(`--secret: failed to stat ${file}: stat ${file}: ${goErr(e)}`);
    });
    if (st.size > MAX_SECRET) throw new UsageError(`--secret: secret ${secret.id} too big. max size 500KiB`);
    const data = await readFile(resolve(cwd, file)).catch((e: unknown) => {
      throw new UsageError(`--secret: read ${file}: ${goErr(e)}`);
    });
    if (data.length > MAX_SECRET) throw new UsageError(`--secret: secret ${secret.id} too big. max size 500KiB`);
    out.set(secret.id, data);
  }
  return out;
}

/** A bad -o or --annotation value is a usage error (exit 2). */
function usage<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OutputError || e instanceof AnnotationError) throw new UsageError(e.message);
    throw e;
  }
}

const OPTIONS: readonly OptionSpec[] = [
  { name: "tag", short: "t", value: true, repeat: true, arg: "NAME[:TAG]", help: "name the result" },
  { name: "file", short: "f", value: true, arg: "FILE", help: "the Dockerfile (- reads standard input)", default: "CONTEXT/Dockerfile" },
  { name: "build-arg", value: true, repeat: true, arg: "K=V", help: "a build arg (K alone takes it from the environment)" },
  { name: "build-context", value: true, repeat: true, arg: "NAME=VALUE", help: "a named context: a directory, docker-image://REF, oci-layout://PATH[:TAG][@DIGEST] or a git URL" },
  { name: "target", value: true, arg: "STAGE", help: "build up to this stage" },
  { name: "platform", value: true, repeat: true, arg: "OS/ARCH[/VARIANT][,…]", help: "the platform to build for; several (comma-separated) make one image index", default: "this host's" },
  { name: "label", value: true, repeat: true, arg: "K=V", help: "a label on the image" },
  { name: "annotation", value: true, repeat: true, arg: "[TYPE:]KEY=VALUE", help: "an OCI annotation on the image, as buildx" },
  { name: "network", value: true, arg: "default|host|none", help: "the network of RUN steps", default: "default (the host's)" },
  { name: "secret", value: true, repeat: true, arg: "id=ID[,src=FILE|,env=VAR]", help: "a secret for RUN --mount=type=secret" },
  { name: "ssh", value: true, repeat: true, arg: "default|ID[=SOCKET|KEY[,…]]", help: "an ssh agent (or key files) for RUN --mount=type=ssh and git over ssh" },
  { name: "allow", value: true, repeat: true, arg: "ENTITLEMENT", help: "grant network.host or security.insecure" },
  { name: "no-cache", help: "do not reuse cached steps" },
  { name: "no-cache-filter", value: true, repeat: true, arg: "STAGE", help: "do not reuse cached steps of this stage" },
  { name: "pull", help: "ask the registry for every base image's current digest" },
  { name: "explain", help: "say, for every step that missed the cache, which input changed" },
  COMPRESSION_OPTION,
  { name: "output", short: "o", value: true, repeat: true, arg: "SPEC", help: "type=image|oci|docker|local|tar,…: where the result goes", default: "type=image (the store)" },
  { name: "push", help: "push the result to its -t names" },
  { name: "progress", value: true, arg: "auto|tty|plain|json|quiet", help: "how progress is shown", default: "auto" },
  { name: "quiet", short: "q", help: "print only the image id" },
  { name: "iidfile", value: true, arg: "FILE", help: "write the image id to FILE" },
  { name: "metadata-file", value: true, arg: "FILE", help: "write the build's metadata (digests, names, steps) as JSON to FILE" },
  ROOT_OPTION,
  INSECURE_OPTION,
  { name: "snapshotter", value: true, arg: "auto|overlay|copy", help: "how steps are snapshotted (copy where overlayfs is unavailable)", default: "auto" },
  { name: "isolation", value: true, arg: "auto|chroot", help: "how RUN steps are isolated: chroot runs them without namespaces (weaker; for root in a pod that allows none)", default: "auto" },
  { name: "cache-from", value: true, repeat: true, arg: "SPEC", help: "import a build cache: type=local,src=DIR or type=registry,ref=REF" },
  { name: "cache-to", value: true, repeat: true, arg: "SPEC", help: "export the build cache: type=local,dest=DIR, type=registry,ref=REF or type=inline" },
];

export const buildCommand: Command = {
  name: "build",
  summary: "build an image from a Dockerfile (the default command)",
  usage: USAGE,
  options: OPTIONS,
  async run(argv, io) {
    const args = parseArgs(argv, OPTIONS);
    const contextArg = args.positionals[0];
    if (!contextArg || args.positionals.length > 1) throw new UsageError("give exactly one build context (a directory)");
    // "-": a tar stream (plain or compressed) on standard input, which the engine unpacks (context/tar-context.ts)
    const context: string | Readable = contextArg === "-" ? (io.stdin as Readable) : resolve(io.cwd, contextArg);
    if (contextArg === "-" && str(args, "file") === "-") throw new UsageError("the context and the Dockerfile cannot both come from standard input");
    const tags = list(args, "tag");
    const fileArg = str(args, "file");
    let dockerfileText: string | undefined;
    let dockerfile: string | undefined;
    if (fileArg === "-") dockerfileText = await readTextInput("-", io.stdin);
    else if (fileArg) dockerfile = resolve(io.cwd, fileArg);
    // --platform a,b (or repeated, as buildx): one image index of every platform
    const platformList = list(args, "platform").flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
    const platforms = platformList.map((v) => parsePlatform(v) ?? (() => { throw new UsageError(`bad --platform ${v}`); })());
    const platform = platforms.length === 1 ? platforms[0] : undefined;
    const network = str(args, "network") ?? "default";
    if (!["default", "host", "none"].includes(network)) throw new UsageError(`--network ${network}: use default, host or none`);
    // --allow network.host,security.insecure (repeatable, comma-separated as buildx reads it)
    let allow: Entitlement[];
    try {
      allow = parseEntitlements(list(args, "allow").flatMap((a) => a.split(",")).map((a) => a.trim()).filter(Boolean));
    } catch (e) {
      throw new UsageError(`--allow: ${(e as Error).message}`);
    }
    const progress = (flag(args, "quiet") ? "quiet" : (str(args, "progress") ?? "auto")) as ProgressMode;
    if (!["auto", "tty", "plain", "json", "quiet"].includes(progress)) throw new UsageError(`--progress ${progress}: use auto, tty, plain, json or quiet`);
    const outputs: OutputSpec[] = list(args, "output").map((o) => usage(() => parseOutput(o, tags)));
    const annotations: Annotation[] = list(args, "annotation").flatMap((a) => usage(() => parseAnnotationFlag(a)));
    if (flag(args, "push")) outputs.push({ type: "image", names: tags, push: true });
    const labels = Object.fromEntries(list(args, "label").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    const buildArgs = parseBuildArgs(list(args, "build-arg"), io.env);
    // SOURCE_DATE_EPOCH from the environment, or as a build arg (as BuildKit takes it)
    const epochText = buildArgs.get("SOURCE_DATE_EPOCH") ?? io.env.SOURCE_DATE_EPOCH;
    const epoch = epochText ? Number(epochText) : undefined;
    if (epochText && !(Number.isInteger(epoch) && (epoch as number) >= 0)) throw new UsageError(`SOURCE_DATE_EPOCH=${epochText}: give whole seconds since 1970`);
    const compression = parseCompression(str(args, "compression"));
    const snap = snapshotterOption(args);
    const isolation = isolationOption(args);
    // --ssh default|ID[=SOCKET_OR_KEY_FILE[,…]] (buildx's ParseSSHSpecs; checked by the engine before the build)
    // no path: this command's SSH_AUTH_SOCK (the engine would read its process's)
    const ssh = list(args, "ssh").map(parseSshSpec).filter((s): s is SshSpec => s !== undefined).map((s) => {
      if (s.paths.length > 1 || (s.paths.length === 1 && s.paths[0] !== "")) return s;
      if (!io.env.SSH_AUTH_SOCK) throw new SshSpecError("invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set (or give --ssh ID=SOCKET_OR_KEY_FILE)");
      return { id: s.id, paths: [io.env.SSH_AUTH_SOCK] };
    });
    const cache = parseCacheOptions(list(args, "cache-from"), list(args, "cache-to"), io.cwd);
    const buildContexts = parseBuildContexts(list(args, "build-context"), io.cwd);
    const controller = new AbortController();
    let running: Promise<unknown> = Promise.resolve();
    // on SIGINT/SIGTERM: abort, let the build clean up (containers, snapshots, scratch), then exit
    const remove = abortOnSignals(controller, async () => {
      await running.catch(() => undefined);
    });
    const print = progressPrinter(progress, io.stderr);
    try {
      const pending = build({
        context,
        ...(dockerfile ? { dockerfile } : {}),
        ...(dockerfileText !== undefined ? { dockerfileText } : {}),
        tags,
        buildArgs,
        ...(Object.keys(buildContexts).length ? { buildContexts } : {}),
        ...(str(args, "target") ? { target: str(args, "target") as string } : {}),
        ...(platform ? { platform } : {}),
        ...(platforms.length > 1 ? { platforms } : {}),
        labels,
        ...(annotations.length ? { annotations } : {}),
        network: network as "default" | "host" | "none",
        secrets: await parseSecrets(list(args, "secret"), io.env, io.cwd),
        ...(ssh.length ? { ssh } : {}),
        ...(allow.length ? { allow } : {}),
        root: storeRoot(args, io),
        ...(outputs.length ? { outputs } : {}),
        snapshotter: snap,
        ...(isolation !== "auto" ? { isolation } : {}),
        insecureRegistries: list(args, "insecure-registry"),
        ...(epoch !== undefined && Number.isFinite(epoch) ? { sourceDateEpoch: epoch } : {}),
        noCache: flag(args, "no-cache"),
        noCacheFilter: list(args, "no-cache-filter"),
        explain: flag(args, "explain"),
        compression,
        pull: flag(args, "pull"),
        ...cache,
        onEvent: print,
        signal: controller.signal,
      });
      running = pending;
      const result = await pending;
      // several platforms: the image is the index (as buildx writes --iidfile and the metadata for one)
      const id = result.platforms ? result.manifestDigest : result.imageId;
      if (str(args, "iidfile")) await writeFile(resolve(io.cwd, str(args, "iidfile") as string), id);
      if (str(args, "metadata-file")) {
        await writeFile(resolve(io.cwd, str(args, "metadata-file") as string), JSON.stringify({
          ...(result.platforms ? {} : { "containerimage.config.digest": result.imageId }), "containerimage.digest": result.manifestDigest, "image.name": result.names.join(","),
          ...(result.platforms ? { platforms: result.platforms } : {}), steps: result.steps,
          ...(result.contexts.length ? { contexts: result.contexts } : {}),
        }, null, 2) + "\n");
      }
      if (flag(args, "explain") && progress !== "quiet" && progress !== "json") io.stderr.write(explainSummary(result.steps));
      if (progress === "quiet") io.stdout.write(`${id}\n`);
      else io.stderr.write(`writing image ${id}${result.names.length ? ` done\nnaming to ${result.names.join(", ")}` : ""}\n`);
      return EXIT_OK;
    } catch (e) {
      if (e instanceof DockerfileError) {
        io.stderr.write(`${e.message}\n`);
        return EXIT_USAGE;
      }
      if (e instanceof OutputError) throw new UsageError(e.message);
      if (e instanceof BuildContextError) {
        io.stderr.write(`ERROR: ${e.message}\n`);
        return EXIT_FAILED;
      }
      if (e instanceof BuildError) {
        const where = e.position ? `${e.file}:${e.position.line}` : e.file;
        io.stderr.write(`ERROR: failed to build: ${where}: ${e.instruction}\n`);
        for (const l of e.outputTail.slice(-10)) io.stderr.write(`  > ${l}\n`);
        io.stderr.write(`${e.message}${e.exitCode !== undefined ? "" : ""}\n`);
        return EXIT_FAILED;
      }
      throw e;
    } finally {
      print.finish();
      remove();
      void dirname;
    }
  },
};
