import { resolveUser } from "@tsbuild/runtime";
import type { Owner } from "./copier.js";

/* COPY/ADD --chown: BuildKit resolves names in the image being built, at the step, never the host. */

/** --chown=user[:group] resolved against the target image's passwd/group (numeric ids need neither). */
export async function resolveChown(root: string, spec: string | undefined): Promise<Owner | undefined> {
  if (spec === undefined || spec === "") return undefined;
  const numeric = numericChown(spec);
  if (numeric) return numeric;
  const r = await resolveUser(root, spec);
  return { uid: r.uid, gid: r.gid };
}

/**
 * --chown=uid[:gid] in numbers (gid defaults to uid), which needs no image; undefined for names.
 * `root` counts as 0 for the user and for the group, as BuildKit's llb.WithUser reads it (no lookup).
 */
export function numericChown(spec: string): Owner | undefined {
  const [u, g] = spec.split(":", 2) as [string, string | undefined];
  const id = (s: string) => (s === "root" ? 0 : /^\d+$/.test(s) ? Number(s) : undefined);
  const uid = id(u);
  const gid = g === undefined ? uid : id(g);
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}
