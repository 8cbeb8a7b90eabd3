/** Build progress for the terminal: BuildKit-style plain lines, JSON events, or nothing. */
import type { BuildEvent } from "@tsbuild/engine";
import { isolationLine, isolationWorthTelling, TtyProgress } from "./progress-tty.js";

export type ProgressMode = "auto" | "tty" | "plain" | "json" | "quiet";

export interface Printer {
  (e: BuildEvent): void;
  /** called once the build has ended */
  finish(): void;
}

/** auto: the live view on a terminal, plain lines otherwise (CI logs, pipes). */
export function progressPrinter(mode: ProgressMode, out: NodeJS.WritableStream): Printer {
  const finishNothing = () => undefined;
  if (mode === "quiet") return Object.assign(() => undefined, { finish: finishNothing });
  if (mode === "json") return Object.assign((e: BuildEvent) => void out.write(JSON.stringify(e) + "\n"), { finish: finishNothing });
  const isTty = (out as NodeJS.WriteStream).isTTY === true;
  if (mode === "tty" || (mode === "auto" && isTty)) {
    const view = new TtyProgress(out, (out as NodeJS.WriteStream).columns || 120);
    return Object.assign((e: BuildEvent) => view.handle(e), { finish: () => view.finish() });
  }
  return Object.assign(plain(out), { finish: finishNothing });
}

function plain(out: NodeJS.WritableStream): (e: BuildEvent) => void {
  return (e) => {
    switch (e.type) {
      case "step-start":
        out.write(`#${e.id} [${e.stage} ${e.step}] ${e.instruction}\n`);
        break;
      case "step-output":
        for (const line of e.data.split("\n")) if (line !== "") out.write(`#${e.id} ${line}\n`);
        break;
      case "step-done":
        out.write(`#${e.id} ${e.cached ? "CACHED" : `DONE ${(e.durationMs / 1000).toFixed(1)}s`}${e.detail ? ` (${e.detail})` : ""}\n`);
        if (e.explain) out.write(`#${e.id} MISS ${e.explain}\n`);
        break;
      case "step-failed":
        out.write(`#${e.id} ERROR: ${e.error}\n`);
        break;
      case "warning":
        out.write(`${e.message}\n`);
        break;
      case "exported":
        out.write(`exported ${e.what}\n`);
        break;
      case "context":
        out.write(`[${e.what}] ${e.identity}\n`);
        break;
      case "isolation":
        // told where it differs from a root build with overlay: rootless, or the copy snapshotter
        if (isolationWorthTelling(e)) out.write(`${isolationLine(e)}\n`);
        break;
    }
  };
}
