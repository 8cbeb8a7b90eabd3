/**
 * Layer compression. gzip: Node's zlib, or on all cores a worker pool that compresses 1 MiB
 * chunks as independent gzip members joined into one valid multi-member stream (every gzip reader,
 * Go's included, reads such a stream as one). zstd: Node 20 has no zstd, so the Debian `zstd`
 * binary runs as a streaming child process (-T0 uses all cores); no npm zstd package is both well
 * kept and free of prebuilt-binary downloads. Decompression sniffs the magic bytes.
 */
import { spawn } from "node:child_process";
import { PassThrough, Readable, Transform, type TransformCallback } from "node:stream";
import { createGunzip, createGzip, gzip as gzipCb, constants } from "node:zlib";
import { promisify } from "node:util";
import { cpus } from "node:os";
import type { LayerCompression } from "../media-types.js";

const gzipAsync = promisify(gzipCb);

export type Sniffed = LayerCompression;

export function sniffCompression(head: Buffer): Sniffed {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

/** A child-process filter (stdin → stdout) as a Transform-like duplex pair. */
function processFilter(cmd: string, args: string[]): { input: PassThrough; output: Readable } {
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
  const input = new PassThrough();
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  input.pipe(child.stdin);
  child.stdin.on("error", () => undefined);
  const output = child.stdout;
  child.on("error", (e) => output.destroy(new Error(`${cmd} could not run: ${e.message} (install Debian's ${cmd} package)`)));
  child.on("close", (code) => {
    if (code !== 0) output.destroy(new Error(`${cmd} ${args.join(" ")} failed (exit ${code}): ${stderr.trim()}`));
  });
  return { input, output };
}

export function zstdCompress(source: Readable, level = 3): Readable {
  const f = processFilter("zstd", ["-q", "-c", `-${level}`, "-T0"]);
  source.on("error", (e) => f.output.destroy(e));
  source.pipe(f.input);
  return f.output;
}

export function zstdDecompress(source: Readable): Readable {
  const f = processFilter("zstd", ["-q", "-d", "-c"]);
  source.on("error", (e) => f.output.destroy(e));
  source.pipe(f.input);
  return f.output;
}

/** Decompresses by magic bytes: gzip, zstd or plain tar. */
export async function decompressStream(source: Readable): Promise<Readable> {
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  const chunks: Buffer[] = [];
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) break;
    const c = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    chunks.push(c);
    head = Buffer.concat([head, c]);
  }
  async function* rest(): AsyncIterable<Buffer> {
    for (const c of chunks) yield c;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    }
  }
  const replay = Readable.from(rest(), { objectMode: false });
  switch (sniffCompression(head)) {
    case "gzip": {
      const g = createGunzip();
      replay.on("error", (e) => g.destroy(e));
      return replay.pipe(g);
    }
    case "zstd":
      return zstdDecompress(replay);
    default:
      return replay;
  }
}

export function gzipStream(source: Readable, level = constants.Z_DEFAULT_COMPRESSION): Readable {
  const g = createGzip({ level });
  source.on("error", (e) => g.destroy(e));
  return source.pipe(g);
}

export interface ParallelGzipOptions {
  /** concurrent compressions (default: number of cores) */
  workers?: number;
  /** bytes per gzip member (default 1 MiB) */
  chunkSize?: number;
  level?: number;
}

/**
 * gzip on all cores: chunks are compressed concurrently on libuv's thread pool (zlib's async API
 * runs off the main thread) and emitted in order as consecutive gzip members.
 */
export function gzipParallel(source: Readable, opts: ParallelGzipOptions = {}): Readable {
  const workers = Math.max(1, opts.workers ?? cpus().length);
  const chunkSize = opts.chunkSize ?? 1 << 20;
  const level = opts.level ?? constants.Z_DEFAULT_COMPRESSION;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const inflight: Promise<Buffer>[] = [];

  const t = new Transform({
    async transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        pending.push(chunk);
        pendingLen += chunk.length;
        while (pendingLen >= chunkSize) {
          const all = Buffer.concat(pending);
          const piece = all.subarray(0, chunkSize);
          pending = [all.subarray(chunkSize)];
          pendingLen = all.length - chunkSize;
          inflight.push(gzipAsync(piece, { level }));
          while (inflight.length >= workers) this.push(await inflight.shift()!);
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    async flush(cb: TransformCallback) {
      try {
        if (pendingLen > 0 || inflight.length === 0) inflight.push(gzipAsync(Buffer.concat(pending), { level }));
        while (inflight.length) this.push(await inflight.shift()!);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
  source.on("error", (e) => t.destroy(e));
  return source.pipe(t);
}

/** Compresses a tar stream as asked. */
export function compressStream(source: Readable, c: LayerCompression, opts: { parallel?: boolean } = {}): Readable {
  if (c === "gzip") return opts.parallel === false ? gzipStream(source) : gzipParallel(source);
  if (c === "zstd") return zstdCompress(source);
  return source;
}
