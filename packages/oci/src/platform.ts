/**
 * Platforms as containerd's platforms package reads them (the one BuildKit 0.13 vendors, containerd
 * 1.7's), the one place tsbuild compares them:
 * `normalizePlatform` (containerd's Normalize: `x86_64` is amd64, `aarch64` arm64, `arm64/v8` and
 * `amd64/v1` lose their variant, `arm` is arm/v7, `armhf` arm/v7, `armel` arm/v6), `onlyPlatform`
 * (containerd's platforms.Only, which BuildKit resolves base images and pulls with: a platform and
 * what it also runs, in order of preference — amd64/v3 then v2, v1 and 386; arm/v7 then v6, v5;
 * arm64 then arm/v8 … v5), and this host's platform (`hostPlatform`: Node's process.arch as Go's
 * GOARCH names it).
 */
import type { Platform } from "./types/image.js";

/** Node's process.arch → Go's GOARCH. */
const GOARCH: Record<string, string> = {
  x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64", mips: "mips", mipsel: "mipsle",
};

/** This host's architecture as Go names it (amd64, arm64, …). */
export function hostArchitecture(): string {
  return GOARCH[process.arch] ?? process.arch;
}

/** This host's platform, normalized (an arm host is arm/v7, as containerd's default on a v7 CPU). */
export function hostPlatform(): Platform {
  return normalizePlatform({ os: process.platform === "win32" ? "windows" : "linux", architecture: hostArchitecture() });
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** containerd's normalizeArch: the architecture and variant platforms are compared by. */
function normalizeArch(arch: string, variant: string | undefined): [string, string | undefined] {
  const a = arch.toLowerCase();
  const v = variant?.toLowerCase() || undefined;
  switch (a) {
    case "i386":
      return ["386", undefined];
    case "x86_64":
    case "x86-64":
    case "amd64":
      return ["amd64", v === "v1" ? undefined : v];
    case "aarch64":
    case "arm64":
      return ["arm64", v === "8" || v === "v8" ? undefined : v];
    case "armhf":
      return ["arm", "v7"];
    case "armel":
      return ["arm", "v6"];
    case "arm":
      if (v === undefined || v === "7") return ["arm", "v7"];
      return ["arm", v === "5" || v === "6" || v === "8" ? `v${v}` : v];
    default:
      return [a, v];
  }
}

/** containerd's Normalize: lowercase, `macos` is darwin, the architecture's aliases and default variants as one spelling. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase() === "macos" ? "darwin" : p.os.toLowerCase();
  const [architecture, variant] = normalizeArch(p.architecture, p.variant);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** containerd's platformVector: the platform (normalized), then what else it runs, best first. */
function platformVector(p: Platform): Platform[] {
  const at = (architecture: string, variant?: string): Platform => ({ os: p.os, architecture, ...(variant ? { variant } : {}) });
  const version = (v: string | undefined) => (v && /^v?\d+$/.test(v) ? Number(v.replace(/^v/, "")) : undefined);
  switch (p.architecture) {
    case "amd64": {
      const out = [p];
      for (let n = (version(p.variant) ?? 1) - 1; n >= 1; n--) out.push(at("amd64", `v${n}`));
      return [...out, at("386")];
    }
    case "arm": {
      const out = [p];
      const n = version(p.variant);
      if (n !== undefined && n > 5) for (let k = n - 1; k >= 5; k--) out.push(at("arm", `v${k}`));
      return out;
    }
    case "arm64":
      // arm64 runs 32-bit arm binaries: arm/v8 and down (arm/<its variant>, as containerd builds it)
      return [p, ...platformVector(at("arm", p.variant ?? "v8"))];
    default:
      return [p];
  }
}

/** A platform matcher: which platforms it takes, and which of several it prefers. */
export interface PlatformMatcher {
  /** the platform asked for, normalized */
  readonly platform: Platform;
  /** whether an image for `p` serves it (an absent platform never does) */
  match(p: Platform | undefined): boolean;
  /** the best of `items` by their platform (containerd's Ordered comparer: first in preference, then first listed), or undefined */
  best<T extends { platform?: Platform | undefined }>(items: readonly T[]): T | undefined;
}

const same = (a: Platform, b: Platform) => a.os === b.os && a.architecture === b.architecture && (a.variant ?? "") === (b.variant ?? "");

/** containerd's platforms.Only(want): `want` and the platforms it also runs, best first. */
export function onlyPlatform(want: Platform): PlatformMatcher {
  const platform = normalizePlatform(want);
  const vector = platformVector(platform).map(normalizePlatform);
  const rank = (p: Platform | undefined) => {
    if (!p || !p.os || !p.architecture) return -1;
    const n = normalizePlatform(p);
    return vector.findIndex((v) => same(v, n));
  };
  return {
    platform,
    match: (p) => rank(p) >= 0,
    best(items) {
      let pick: (typeof items)[number] | undefined;
      let at = Infinity;
      for (const it of items) {
        const r = rank(it.platform);
        if (r >= 0 && r < at) [pick, at] = [it, r];
      }
      return pick;
    },
  };
}
