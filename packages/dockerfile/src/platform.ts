/** Platforms as BuildKit names them ("linux/amd64", "linux/arm/v7") and the args derived from them. */

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

/** containerd's normalizeArch (as vendored by BuildKit 0.13): the names and variants BuildKit compares. */
function normalizeArch(arch: string, variant: string | undefined): [string, string | undefined] {
  switch (arch) {
    case "i386":
      return ["386", undefined];
    case "x86_64":
    case "x86-64":
    case "amd64":
      return ["amd64", variant === "v1" ? undefined : variant];
    case "aarch64":
    case "arm64":
      return ["arm64", variant === "8" || variant === "v8" ? undefined : variant];
    case "armhf":
      return ["arm", "v7"];
    case "armel":
      return ["arm", "v6"];
    case "arm":
      if (variant === undefined || variant === "7") return ["arm", "v7"];
      return ["arm", variant === "5" || variant === "6" || variant === "8" ? `v${variant}` : variant];
    default:
      return [arch, variant];
  }
}

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
    else if (KNOWN_ARCH.has(normalizeArch(one, undefined)[0])) spec = [host.os, one, undefined];
    else return undefined;
  } else {
    spec = [os(parts[0] as string), parts[1] as string, parts[2]];
  }
  const [architecture, variant] = normalizeArch(spec[1], spec[2]);
  return variant ? { os: spec[0], architecture, variant } : { os: spec[0], architecture };
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
