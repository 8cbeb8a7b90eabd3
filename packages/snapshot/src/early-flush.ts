/**
 * Unmounting an overlay syncs its upper file system: after a RUN that wrote 200 MB, the commit's
 * unmount waited ~100 ms for the disk. Once a diff has handed on enough file content, a `sync -f`
 * of the upper dir's file system starts in the background, so the disk writes the step's files
 * while the layer is read, hashed and stored, and the unmount finds little left to flush
 * (measured: unmount 120 → 8 ms, the layer write ~30 ms longer). A small step never starts one.
 */
import { sysHelper, type LayerEntry } from "@tsbuild/oci";
import { exec } from "./exec.js";

/** File bytes a diff hands on before the flush starts. */
const EARLY_FLUSH = 16 << 20;

export class EarlyFlush {
  private running: Promise<void> | undefined;

  /** @param threshold file bytes before the flush starts (tests lower it) */
  constructor(
    private readonly dir: string,
    private readonly threshold = EARLY_FLUSH,
  ) {}

  /** Whether the flush has been started. */
  get started(): boolean {
    return this.running !== undefined;
  }

  /** The entries as they come; the flush starts once they hold `threshold` bytes of file content. */
  async *watch(entries: AsyncIterable<LayerEntry>): AsyncIterable<LayerEntry> {
    let bytes = 0;
    for await (const e of entries) {
      if (!this.running && e.type === "file" && (bytes += e.size ?? 0) >= this.threshold) this.start();
      yield e;
    }
  }

  private start(): void {
    // a head start only: the unmount syncs anyway, so a failing or missing `sync` costs nothing but time
    // syncfs(2) through tsbuild-sys (oci/src/sys-helper.ts), else `sync -f`
    const h = sysHelper();
    const flush = h ? h.syncfs(this.dir).catch(() => exec("sync", ["-f", this.dir])) : exec("sync", ["-f", this.dir]);
    this.running = flush.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Waits for a flush still running (before the unmount; never leaves the process behind). */
  async done(): Promise<void> {
    await this.running;
  }
}
