/** created_by texts as BuildKit writes them into image history. */
import { goQuote } from "@tsbuild/dockerfile";
import type { StageState } from "../solver/state.js";

/** Go's %q of a []string: ["a" "b"] */
export function goList(l: readonly string[]): string {
  return "[" + l.map(goQuote).join(" ") + "]";
}
/** Go's %v of a []string: [a b] */
export function goPlainList(l: readonly string[]): string {
  return "[" + l.join(" ") + "]";
}

export const BUILDKIT_COMMENT = "buildkit.dockerfile.v0";

/** What history times depend on: SOURCE_DATE_EPOCH, when set. */
export interface BuildClock {
  /** SOURCE_DATE_EPOCH, seconds */
  readonly epoch?: number;
}

/** Now, or SOURCE_DATE_EPOCH when set, as an image's history and config write it. */
export function historyNow(clock: BuildClock): string {
  return new Date(clock.epoch !== undefined ? clock.epoch * 1000 : Date.now()).toISOString();
}

/** History times: a metadata step takes the time of the last layer before it, so a rebuild from cache is identical. */
export function addHistory(clock: BuildClock, st: StageState, createdBy: string, emptyLayer: boolean, comment = BUILDKIT_COMMENT, created?: string): void {
  const when = created ?? st.lastCreated ?? historyNow(clock);
  st.image.history.push({ created: when, created_by: createdBy, comment, ...(emptyLayer ? { empty_layer: true } : {}) });
}

/** What COPY/ADD's created_by is made of (the expanded instruction's fields). */
export interface CopyHistoryFields {
  sources: readonly string[];
  contents: readonly { name: string }[];
  dest: string;
  chown?: string;
  chmod?: string;
  parents?: boolean;
}

/**
 * COPY/ADD's created_by as BuildKit writes it: the keyword, `--parents`, `--chown=…` and `--chmod=…`
 * when given (in that order, whatever the Dockerfile's), the paths, each heredoc source as
 * `<<NAME` (after the paths, wherever it was written), the destination. `--from`, `--link` and
 * `--exclude` are not in it.
 */
export function copyCreatedBy(keyword: "COPY" | "ADD", i: CopyHistoryFields): string {
  const words: string[] = [keyword];
  if (i.parents) words.push("--parents");
  if (i.chown) words.push(`--chown=${i.chown}`);
  if (i.chmod) words.push(`--chmod=${i.chmod}`);
  words.push(...i.sources, ...i.contents.map((c) => `<<${c.name}`), i.dest);
  return `${words.join(" ")} # buildkit`;
}
