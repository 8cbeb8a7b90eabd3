/** BuildKit's parser test dump format (Node.Dump), for `tsbuild parse --format buildkit-dump`. */
import type { Node, ParsedDockerfile } from "./ast.js";
import { goQuote, goQuoteList } from "./go-quote.js";

function dumpNode(node: Node): string {
  let str = node.value.toLowerCase();
  if (node.flags.length > 0) str += " " + goQuoteList(node.flags);
  for (const c of node.children) str += "(" + dumpNode(c) + ")\n";
  for (const n of node.next) {
    str += n.children.length > 0 ? " " + dumpNode(n) : " " + goQuote(n.value);
  }
  return str.trim();
}

export function dumpBuildkit(parsed: ParsedDockerfile): string {
  let str = "";
  for (const c of parsed.children) str += "(" + dumpNode(c) + ")\n";
  return str.trim() + "\n";
}
