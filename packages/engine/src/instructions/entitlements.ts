/**
 * BuildKit's entitlements (util/entitlements): what a RUN may only do when the build allows it.
 * `RUN --security=insecure` needs `security.insecure`; `RUN --network=host` needs `network.host`,
 * which a build with `--network host` has (as buildx grants it). Given with `--allow` (BuildOptions
 * `allow`); tsbuild has no daemon, so no second switch on a daemon's side. A RUN that needs one the
 * build lacks is refused at its line, before anything of the build runs.
 */
import type { BuildGraph, Instruction } from "@tsbuild/dockerfile";
import { BuildError } from "../errors.js";

export const ENTITLEMENTS = ["network.host", "security.insecure"] as const;
export type Entitlement = (typeof ENTITLEMENTS)[number];

/** Checks names given by a user (`--allow`): BuildKit's "unknown entitlement" otherwise. */
export function parseEntitlements(names: readonly string[]): Entitlement[] {
  for (const n of names) {
    if (!(ENTITLEMENTS as readonly string[]).includes(n)) throw new Error(`unknown entitlement ${n} (use network.host or security.insecure)`);
  }
  return [...new Set(names)] as Entitlement[];
}

/** What the build allows: the entitlements given, and network.host for a build on the host's network. */
export function allowedEntitlements(given: readonly string[], network: string): ReadonlySet<Entitlement> {
  const set = new Set(parseEntitlements(given));
  if (network === "host") set.add("network.host");
  return set;
}

/** The entitlement one instruction needs and lacks (RUN only), as BuildKit words it. */
function missing(allow: ReadonlySet<Entitlement>, i: Instruction): { need: Entitlement; flag: string } | undefined {
  if (i.kind !== "run") return undefined;
  if (i.security === "insecure" && !allow.has("security.insecure")) return { need: "security.insecure", flag: "--security=insecure" };
  if (i.network === "host" && !allow.has("network.host")) return { need: "network.host", flag: "--network=host" };
  return undefined;
}

/** Refuses a RUN that needs an entitlement the build lacks (for RUNs the solver did not see up front: ONBUILD's). */
export function checkRunEntitlements(allow: ReadonlySet<Entitlement>, i: Instruction, file: string): void {
  const m = missing(allow, i);
  if (!m) return;
  const also = m.need === "network.host" ? " (or build with --network host)" : "";
  throw new BuildError(`${m.need} is not allowed: RUN ${m.flag} needs the build to allow it with --allow ${m.need}${also}`, file, i.position, i.original);
}

/** Refuses the build up front, at the first RUN of the stages it builds that needs what it lacks (as BuildKit checks before it solves). */
export function checkGraphEntitlements(allow: ReadonlySet<Entitlement>, graph: BuildGraph): void {
  for (const s of graph.reachable) {
    for (const i of graph.stages[s]?.instructions ?? []) checkRunEntitlements(allow, i, graph.file);
  }
}
