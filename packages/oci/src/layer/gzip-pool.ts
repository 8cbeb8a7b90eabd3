/**
 * A pool of worker threads that gzip buffers, one thread per core (os.availableParallelism()).
 * zlib's async API would run on libuv's thread pool instead, which has 4 threads unless
 * UV_THREADPOOL_SIZE is set before the process first uses it (a library cannot), and which file
 * system calls share: on a machine with more than 4 cores that is not "all cores".
 *
 * Chunks are transferred to and from the workers, not copied. Idle workers do not keep the process
 * alive and are stopped after a few idle seconds; a worker that dies fails its job and is replaced.
 */
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";

/** The worker: CommonJS run with `eval`, so it works from the sources and from dist alike. */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { gzipSync } = require("node:zlib");
parentPort.on("message", ({ data, level }) => {
  let out;
  try {
    out = gzipSync(data, { level });
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e) });
    return;
  }
  const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : new Uint8Array(out);
  parentPort.postMessage({ data: own }, [own.buffer]);
});
`;

const IDLE_STOP_MS = 5_000;

interface Job {
  data: Uint8Array;
  level: number;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

export class GzipWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(readonly size: number = availableParallelism()) {}

  /** worker threads running now */
  get threads(): number {
    return this.slots.length;
  }

  /** gzips `data` (one complete gzip member) on a worker thread; `data` is detached (transferred). */
  gzip(data: Uint8Array, level: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ data, level, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops every worker now (idle ones also stop by themselves). */
  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.job === undefined) ?? (this.slots.length < this.size ? this.spawn() : undefined);
      if (!slot) return;
      const job = this.queue.shift() as Job;
      slot.job = job;
      slot.worker.ref();
      // a private copy when the chunk is a view into a larger buffer, so only it is transferred
      const data = job.data.byteOffset === 0 && job.data.byteLength === job.data.buffer.byteLength ? job.data : new Uint8Array(job.data);
      slot.worker.postMessage({ data, level: job.level }, [data.buffer as ArrayBuffer]);
    }
    if (this.slots.every((s) => s.job === undefined) && this.slots.length > 0) {
      this.idleTimer = setTimeout(() => void this.close(), IDLE_STOP_MS).unref();
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const slot: Slot = { worker };
    worker.unref();
    worker.on("message", (m: { data?: Uint8Array; error?: string }) => {
      const job = slot.job;
      slot.job = undefined;
      worker.unref();
      if (job) {
        if (m.data) job.resolve(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
        else job.reject(new Error(`gzip failed: ${m.error ?? "unknown error"}`));
      }
      this.dispatch();
    });
    const fail = (e: Error) => {
      const i = this.slots.indexOf(slot);
      if (i !== -1) this.slots.splice(i, 1);
      const job = slot.job;
      slot.job = undefined;
      job?.reject(new Error(`a gzip worker thread stopped: ${e.message}`));
      this.dispatch();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (slot.job) fail(new Error(`exit code ${code}`));
      else {
        const i = this.slots.indexOf(slot);
        if (i !== -1) this.slots.splice(i, 1);
      }
    });
    this.slots.push(slot);
    return slot;
  }
}

let shared: GzipWorkerPool | undefined;

/** The process-wide pool, one thread per core. */
export function sharedGzipPool(): GzipWorkerPool {
  shared ??= new GzipWorkerPool();
  return shared;
}
