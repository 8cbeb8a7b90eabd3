import { createHash } from "node:crypto";

/** The name of the committed snapshot of a layer applied on `parent` (a chain id, as containerd names them). */
export function chainName(parent: string | undefined, diffId: string): string {
  return parent === undefined ? diffId : `sha256:${createHash("sha256").update(`${parent} ${diffId}`).digest("hex")}`;
}
