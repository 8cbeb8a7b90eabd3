/**
 * Platforms as BuildKit names them ("linux/amd64", "linux/arm/v7") and the args derived from them.
 * Normalizing and this host's platform are @tsbuild/oci's (platform.ts), as containerd's.
 */
import { hostPlatform as ociHostPlatform, normalizePlatform } from "@tsbuild/oci";

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export function formatPlatform(p: PlatformSpec): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

const KNOWN_OS = new Set(["aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos"]);
const KNOWN_ARCH = new Set([
  "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64", "mips", "mipsle", "mips64", "mips64le",
  "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
]);

/**
 * `os/arch[/variant]` (or `os`, or `arch`, the rest from this host) as BuildKit reads --platform
 * and FROM --platform: containerd's platforms.Parse, then Normalize (lowercase, `x86_64` is amd64,
 * `aarch64` arm64, `arm` is arm/v7, `arm64/v8` and `amd64/v1` lose their variant, `macos` is darwin).
 */
export function parsePlatform(s: string): PlatformSpec | undefined {
  const parts = s.toLowerCase().split("/");
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_-]+$/.test(p))) return undefined;
  const os = (o: string) => (o === "macos" ? "darwin" : o);
  let spec: [string, string, string | undefined];
  if (parts.length === 1) {
    const one = parts[0] as string;
    const host = hostPlatform();
    if (KNOWN_OS.has(os(one))) spec = [os(one), host.architecture, host.variant];
    else if (KNOWN_ARCH.has(normalizePlatform({ os: host.os, architecture: one }).architecture)) spec = [host.os, one, undefined];
    else return undefined;
  } else {
    spec = [os(parts[0] as string), parts[1] as string, parts[2]];
  }
  const n = normalizePlatform({ os: spec[0], architecture: spec[1], ...(spec[2] ? { variant: spec[2] } : {}) });
  return n.variant ? { os: n.os, architecture: n.architecture, variant: n.variant } : { os: n.os, architecture: n.architecture };
}

/** This machine's platform, in OCI terms (oci's hostPlatform). */
export function hostPlatform(): PlatformSpec {
  const p = ociHostPlatform();
  return p.variant ? { os: p.os, architecture: p.architecture, variant: p.variant } : { os: p.os, architecture: p.architecture };
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
