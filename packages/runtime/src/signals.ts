import { settleRuns } from "./container.js";

/**
 * SIGINT/SIGTERM to tsbuild cancel what is running: the given controller is aborted (runs kill
 * and delete their containers, snapshots unmount), and the process exits 130 / 143 once the
 * cleanup has run. Returns a function that removes the handlers.
 */
export function abortOnSignals(controller: AbortController, cleanup: () => Promise<void> = async () => undefined): () => void {
  const handler = (sig: NodeJS.Signals) => {
    controller.abort(new Error(`interrupted by ${sig}`));
    // the runs see the abort, kill and delete their containers; then the caller's cleanup
    void settleRuns().then(cleanup).finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
