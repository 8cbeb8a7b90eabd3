import type { Platform } from "@tsbuild/oci";

/** This host's platform in OCI terms (arm64 images are variant v8 where indexes say so). */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return { os: "linux", architecture: arch[process.arch] ?? process.arch };
}

export function platformMatches(p: Platform | undefined, want: Platform): boolean {
  if (!p) return false;
  if (p.os !== want.os || p.architecture !== want.architecture) return false;
  // an index entry without a variant is arm64/v8 or arm/v7, as containerd normalizes it
  if (want.variant) return p.variant === want.variant || (!p.variant && ((want.architecture === "arm64" && want.variant === "v8") || (want.architecture === "arm" && want.variant === "v7")));
  return true;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}
