/**
 * Layer compression. gzip: Node's zlib, or on all cores a pool of worker threads that compresses
 * 1 MiB chunks as independent gzip members joined into one valid multi-member stream (every gzip
 * reader, Go's included, reads such a stream as one). zstd: Node 20 has no zstd, so the Debian `zstd`
 * binary runs as a streaming child process (-T0 uses all cores); no npm zstd package is both well
 * kept and free of prebuilt-binary downloads. Decompression sniffs the magic bytes.
 */
import { spawn } from "node:child_process";
import { toolPath, type ToolName } from "../system-tools.js";
import { PassThrough, Readable, Transform, type TransformCallback } from "node:stream";
import { createGunzip, createGzip, constants } from "node:zlib";
import type { LayerCompression } from "../media-types.js";
import { sharedGzipPool, type GzipWorkerPool } from "./gzip-pool.js";

export type Sniffed = LayerCompression;

export function sniffCompression(head: Buffer): Sniffed {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

/** A child-process filter (stdin → stdout) as a Transform-like duplex pair. */
function processFilter(cmd: ToolName, args: string[]): { input: PassThrough; output: Readable } {
  const child = spawn(toolPath(cmd), args, { stdio: ["pipe", "pipe", "pipe"] });
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
  /** chunks compressed at once for this stream (default: the pool's size, one per core) */
  workers?: number;
  /** bytes per gzip member (default 1 MiB) */
  chunkSize?: number;
  level?: number;
  /** the worker threads to use (default: the process-wide pool, one thread per core) */
  pool?: GzipWorkerPool;
}

/**
 * gzip on all cores: the stream is cut into chunks that worker threads (one per core, see
 * gzip-pool.ts) compress concurrently; they are emitted in order as consecutive gzip members. The
 * output depends only on the input, the chunk size and the level, not on the number of workers.
 */
export function gzipParallel(source: Readable, opts: ParallelGzipOptions = {}): Readable {
  const pool = opts.pool ?? sharedGzipPool();
  const workers = Math.max(1, opts.workers ?? pool.size);
  const chunkSize = opts.chunkSize ?? 1 << 20;
  const level = opts.level ?? constants.Z_DEFAULT_COMPRESSION;
  // each chunk gets its own ArrayBuffer, so it can be transferred to a worker without a copy
  let chunk = Buffer.allocUnsafeSlow(chunkSize);
  let filled = 0;
  const inflight: Promise<Buffer>[] = [];
  const send = (): void => {
    const job = pool.gzip(filled === chunkSize ? chunk : chunk.subarray(0, filled), level);
    job.catch(() => undefined); // awaited below in order; this only keeps a failure seen once
    inflight.push(job);
    chunk = Buffer.allocUnsafeSlow(chunkSize);
    filled = 0;
  };

  const t = new Transform({
    async transform(data: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        let at = 0;
        while (at < data.length) {
          const n = Math.min(chunkSize - filled, data.length - at);
          data.copy(chunk, filled, at, at + n);
          filled += n;
          at += n;
          if (filled === chunkSize) {
            send();
            while (inflight.length >= workers) this.push(await inflight.shift()!);
          }
        }
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    async flush(cb: TransformCallback) {
      try {
        if (filled > 0 || inflight.length === 0) send();
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
