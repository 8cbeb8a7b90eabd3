import { resolveUser, UserResolutionError } from "@tsbuild/runtime";
import { idsMapped, singleIdNote } from "../rootless.js";
import type { Owner } from "./copier.js";

/* COPY/ADD --chown: BuildKit resolves names in the image being built, at the step, never the host. */

/** --chown=user[:group] resolved against the target image's passwd/group (numeric ids need neither). */
export async function resolveChown(root: string, spec: string | undefined): Promise<Owner | undefined> {
  if (spec === undefined || spec === "") return undefined;
  const numeric = numericChown(spec);
  let owner: Owner;
  if (numeric) owner = numeric;
  else {
    const r = await resolveUser(root, spec);
    owner = { uid: r.uid, gid: r.gid };
  }
  // a rootless build's namespace may not map it (the kernel would refuse the chown): said, never another owner written
  if (!idsMapped(owner.uid, owner.gid)) {
    throw new UserResolutionError(`--chown=${spec}: ${owner.uid}:${owner.gid} is not mapped in this rootless build's user namespace; ${singleIdNote() ?? "give the user more subordinate ids in /etc/subuid and /etc/subgid (65536 cover the ids images use)"}`);
  }
  return owner;
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
