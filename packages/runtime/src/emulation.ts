/**
 * Whether this host can run a platform's binaries: natively, or through an emulator the kernel's
 * binfmt_misc has registered (Debian's qemu-user-static registers `qemu-ARCH` handlers). A RUN for a
 * platform that can do neither fails before its container starts, naming the platform and what to
 * install, instead of runc's "exec format error".
 */
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { hostArchitecture } from "@tsbuild/oci";

export interface PlatformLike {
  os: string;
  architecture: string;
  variant?: string;
}

/** The OCI architecture of this host (Node's process.arch as Go names it: @tsbuild/oci's platform.ts). */
export { hostArchitecture };

/** What each host runs without an emulator (amd64 runs 386 binaries, arm64 runs 32-bit arm ones where its CPU can, as BuildKit's checks assume). */
const NATIVE: Record<string, string[]> = { amd64: ["amd64", "386"], arm64: ["arm64"], arm: ["arm"], "386": ["386"] };

/** QEMU's name of an architecture: its binfmt handler is `qemu-NAME`. */
const QEMU_NAME: Record<string, string> = {
  arm64: "aarch64", arm: "arm", "386": "i386", amd64: "x86_64", ppc64le: "ppc64le", s390x: "s390x", riscv64: "riscv64",
  mips64le: "mips64el", mips64: "mips64", mipsle: "mipsel", mips: "mips", loong64: "loongarch64",
};

export const BINFMT_DIR = "/proc/sys/fs/binfmt_misc";

export type Runnable = { ok: true; via: "native" | string } | { ok: false; why: string };

/** How this host runs `platform`'s binaries: natively, through a binfmt handler (its name), or not, and why. */
export function platformRunnable(platform: PlatformLike, binfmt = BINFMT_DIR, host = hostArchitecture()): Runnable {
  if (platform.os !== "linux") return { ok: false, why: `${platform.os} binaries do not run on Linux` };
  if ((NATIVE[host] ?? [host]).includes(platform.architecture)) return { ok: true, via: "native" };
  const name = QEMU_NAME[platform.architecture];
  if (!existsSync(join(binfmt, "status"))) return { ok: false, why: `binfmt_misc is not mounted (mount -t binfmt_misc binfmt_misc ${binfmt}), so no emulator can run ${platform.architecture} binaries` };
  if (readFileSync(join(binfmt, "status"), "utf8").trim() !== "enabled") return { ok: false, why: `binfmt_misc is switched off (echo 1 > ${binfmt}/status)` };
  if (name !== undefined) {
    const handler = join(binfmt, `qemu-${name}`);
    const text = existsSync(handler) ? readFileSync(handler, "utf8") : "";
    if (text.startsWith("enabled")) return { ok: true, via: `qemu-${name}` };
    if (text) return { ok: false, why: `its emulator qemu-${name} is registered but disabled (echo 1 > ${handler})` };
  }
  return { ok: false, why: `no emulator for ${platform.architecture} is registered in binfmt_misc: install Debian's qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support), which register them` };
}

/** The platform as users write it: linux/arm64/v8. */
export const platformName = (p: PlatformLike) => [p.os, p.architecture, p.variant].filter(Boolean).join("/");
