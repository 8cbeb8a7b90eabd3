/**
 * Platforms for the registry client: containerd's matcher and this host's platform, from
 * @tsbuild/oci's platform.ts (the one place platforms are compared).
 */
import { onlyPlatform, type Platform } from "@tsbuild/oci";

export { formatPlatform, hostPlatform } from "@tsbuild/oci";

/** Whether an index entry's platform serves `want` (containerd's platforms.Only). */
export function platformMatches(p: Platform | undefined, want: Platform): boolean {
  return onlyPlatform(want).match(p);
}
