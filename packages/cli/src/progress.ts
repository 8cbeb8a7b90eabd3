/** Build progress for the terminal: BuildKit-style plain lines, JSON events, or nothing. */
import type { BuildEvent } from "@tsbuild/engine";

export type ProgressMode = "auto" | "tty" | "plain" | "json" | "quiet";

export function progressPrinter(mode: ProgressMode, out: NodeJS.WritableStream): (e: BuildEvent) => void {
  if (mode === "quiet") return () => undefined;
  if (mode === "json") return (e) => out.write(JSON.stringify(e) + "\n");
  // tty and auto use the plain format for now (a live view is future work)
  return (e) => {
    switch (e.type) {
      case "step-start":
        out.write(`#${e.id} [${e.stage} ${e.step}] ${e.instruction}\n`);
        break;
      case "step-output":
        for (const line of e.data.split("\n")) if (line !== "") out.write(`#${e.id} ${line}\n`);
        break;
      case "step-done":
        out.write(`#${e.id} ${e.cached ? "CACHED" : `DONE ${(e.durationMs / 1000).toFixed(1)}s`}\n`);
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
    }
  };
}
