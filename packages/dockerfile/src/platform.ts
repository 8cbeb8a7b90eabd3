/** Platforms as BuildKit names them ("linux/amd64", "linux/arm/v7") and the args derived from them. */

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export function formatPlatform(p: PlatformSpec): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

export function parsePlatform(s: string): PlatformSpec | undefined {
  const parts = s.toLowerCase().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) return undefined;
  const [os, arch, variant] = parts as [string, string, string | undefined];
  const architecture = ({ x86_64: "amd64", aarch64: "arm64", armhf: "arm", armel: "arm" } as Record<string, string>)[arch] ?? arch;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** This machine's platform, in OCI terms. */
export function hostPlatform(): PlatformSpec {
  const arch = ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" } as Record<string, string>)[process.arch] ?? process.arch;
  return { os: process.platform === "win32" ? "windows" : "linux", architecture: arch };
}

/** BUILDPLATFORM/BUILDOS/… and TARGETPLATFORM/TARGETOS/… as BuildKit defines them. */
export function platformArgs(build: PlatformSpec, target: PlatformSpec): Map<string, string> {
  return new Map([
    ["BUILDPLATFORM", formatPlatform(build)],
    ["BUILDOS", build.os],
    ["BUILDARCH", build.architecture],
    ["BUILDVARIANT", build.variant ?? ""],
    ["TARGETPLATFORM", formatPlatform(target)],
    ["TARGETOS", target.os],
    ["TARGETARCH", target.architecture],
    ["TARGETVARIANT", target.variant ?? ""],
  ]);
}

/** Build args that need no ARG declaration and are never persisted (docker's proxy args). */
export const PROXY_ARGS = new Set([
  "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
]);
