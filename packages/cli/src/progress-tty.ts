/**
 * The live terminal view (BuildKit's look): finished steps scroll up as `=> [stage n/m] INSTR  0.3s`
 * lines; below them a redrawn block shows the elapsed time, the count of steps done and each
 * running step with its time and last output lines.
 */
import type { BuildEvent } from "@tsbuild/engine";

/** "rootless (user namespace); snapshotter overlay: why" (with the namespace's limits, or chroot's) */
export function isolationLine(e: Extract<BuildEvent, { type: "isolation" }>): string {
  const limits = [
    ...(e.idMapping === "single" ? ["one id mapped: the user as 0"] : []),
    ...(e.processSandbox === "shared" ? ["no process sandbox: RUN shares the pid namespace"] : []),
  ];
  const how = e.isolation === "chroot"
    ? "chroot (--isolation=chroot: no namespaces, RUN sees the host's processes and network)"
    : e.rootless ? `rootless (user namespace${limits.length ? `; ${limits.join("; ")}` : ""})` : "root";
  return `${how}; snapshotter ${e.snapshotter}: ${e.why}`;
}

/** Whether the isolation event is shown: where the build differs from a root build with overlay. */
export function isolationWorthTelling(e: Extract<BuildEvent, { type: "isolation" }>): boolean {
  return e.rootless || e.isolation === "chroot" || e.snapshotter === "copy";
}

interface Running {
  title: string;
  start: number;
  tail: string[];
}

const CLEAR_LINE = "\x1b[2K";
const UP = (n: number) => (n > 0 ? `\x1b[${n}A` : "");

export class TtyProgress {
  private readonly running = new Map<number, Running>();
  private drawn = 0;
  private done = 0;
  private started = 0;
  private readonly t0: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WritableStream, private readonly width = 120, private readonly now: () => number = Date.now) {
    this.t0 = now();
  }

  private clip(s: string): string {
    return s.length > this.width ? s.slice(0, this.width - 1) + "…" : s;
  }

  private erase(): void {
    if (this.drawn === 0) return;
    let s = UP(this.drawn);
    for (let i = 0; i < this.drawn; i++) s += `${CLEAR_LINE}\n`;
    this.out.write(s + UP(this.drawn));
    this.drawn = 0;
  }

  private draw(): void {
    this.erase();
    const secs = ((this.now() - this.t0) / 1000).toFixed(1);
    const lines = [`[+] Building ${secs}s (${this.done}/${this.started})`];
    for (const r of this.running.values()) {
      lines.push(this.clip(` => ${r.title}  ${((this.now() - r.start) / 1000).toFixed(1)}s`));
      for (const t of r.tail.slice(-3)) lines.push(this.clip(`    ${t}`));
    }
    this.out.write(lines.map((l) => `${CLEAR_LINE}${l}\n`).join(""));
    this.drawn = lines.length;
  }

  private above(line: string): void {
    this.erase();
    this.out.write(`${this.clip(line)}\n`);
    this.draw();
  }

  handle(e: BuildEvent): void {
    this.timer ??= setInterval(() => this.draw(), 100).unref();
    switch (e.type) {
      case "step-start":
        this.started++;
        this.running.set(e.id, { title: `[${e.stage} ${e.step}] ${e.instruction}`, start: this.now(), tail: [] });
        this.draw();
        break;
      case "step-output": {
        const r = this.running.get(e.id);
        if (r) r.tail.push(...e.data.split("\n").filter((l) => l.trim() !== ""));
        break;
      }
      case "step-done": {
        const r = this.running.get(e.id);
        this.running.delete(e.id);
        this.done++;
        if (r) this.above(` => ${e.cached ? "CACHED " : ""}${r.title}  ${(e.durationMs / 1000).toFixed(1)}s`);
        break;
      }
      case "step-failed": {
        const r = this.running.get(e.id);
        this.running.delete(e.id);
        if (r) {
          this.above(` => ERROR ${r.title}`);
          for (const t of r.tail.slice(-10)) this.above(`    ${t}`);
        }
        break;
      }
      case "warning":
        this.above(`WARNING: ${e.message}`);
        break;
      case "exported":
        this.above(` => exporting to ${e.what}`);
        break;
      case "context":
        this.above(` => [${e.what}] ${e.identity}`);
        break;
      case "isolation":
        if (isolationWorthTelling(e)) this.above(` => ${isolationLine(e)}`);
        break;
    }
  }

  /** Final redraw and stop (call when the build ends). */
  finish(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
  }
}
