/** created_by texts as BuildKit writes them into image history. */
import { goQuote } from "@tsbuild/dockerfile";

/** Go's %q of a []string: ["a" "b"] */
export function goList(l: readonly string[]): string {
  return "[" + l.map(goQuote).join(" ") + "]";
}
/** Go's %v of a []string: [a b] */
export function goPlainList(l: readonly string[]): string {
  return "[" + l.join(" ") + "]";
}

export const BUILDKIT_COMMENT = "buildkit.dockerfile.v0";
