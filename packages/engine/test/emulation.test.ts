/**
 * RUN for a platform that is not the host's: through the emulator binfmt_misc has registered
 * (Debian's qemu-user-static, registered by scripts/setup-emulation.sh), or, where there is none,
 * a failure before the container starts that names the platform and what to install.
 */
import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { platformRunnable } from "@tsbuild/runtime";
import { ARM64_BUSYBOX, busyboxTar, makeBusyboxRootfs } from "../../../fixtures/support/busybox-rootfs.js";
import { storeBaseImage } from "../../../fixtures/support/base-image.js";
import { buildHarness } from "./helpers/build-harness.js";
import { BuildError } from "../src/index.js";

const h = buildHarness("tsbuild-emulation-");
const arm64 = { os: "linux", architecture: "arm64" };
const qemu = platformRunnable(arm64);
const canRunArm64 = qemu.ok && existsSync(ARM64_BUSYBOX);

describe("which platforms a host runs (binfmt_misc)", () => {
  it("native, a registered and enabled handler, or why not", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbuild-binfmt-"));
    try {
      expect(platformRunnable({ os: "linux", architecture: "amd64" }, dir, "amd64")).toEqual({ ok: true, via: "native" });
      expect(platformRunnable({ os: "linux", architecture: "386" }, dir, "amd64")).toEqual({ ok: true, via: "native" });
      expect(platformRunnable(arm64, dir, "amd64")).toMatchObject({ ok: false, why: expect.stringContaining("binfmt_misc is not mounted") });
      writeFileSync(join(dir, "status"), "enabled\n");
      expect(platformRunnable(arm64, dir, "amd64")).toMatchObject({ ok: false, why: expect.stringContaining("apt-get install qemu-user-static binfmt-support") });
      writeFileSync(join(dir, "qemu-aarch64"), "disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n");
      expect(platformRunnable(arm64, dir, "amd64")).toMatchObject({ ok: false, why: expect.stringContaining("registered but disabled") });
      writeFileSync(join(dir, "qemu-aarch64"), "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n");
      expect(platformRunnable(arm64, dir, "amd64")).toEqual({ ok: true, via: "qemu-aarch64" });
      writeFileSync(join(dir, "status"), "disabled\n");
      expect(platformRunnable(arm64, dir, "amd64")).toMatchObject({ ok: false, why: expect.stringContaining("switched off") });
      expect(platformRunnable({ os: "windows", architecture: "amd64" }, dir, "amd64")).toMatchObject({ ok: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a RUN for a platform no emulator runs fails at its line before any container, naming the platform", async () => {
    const s390x = { os: "linux", architecture: "s390x" };
    const why = platformRunnable(s390x);
    if (why.ok) return; // this host has a handler for s390x: nothing to refuse
    const err = await h.buildText("FROM scratch\nRUN true\n", { platform: s390x }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    // (binfmt_misc may be switched off while this runs, by a bench timing the old BuildKit: its own message)
    expect((err as BuildError).message).toMatch(/^RUN for linux\/s390x cannot run on this linux\/amd64 host: (no emulator for s390x is registered in binfmt_misc: install Debian's qemu-user-static|binfmt_misc is switched off \(echo 1 > \/proc\/sys\/fs\/binfmt_misc\/status\))/);
    expect((err as BuildError).position?.line).toBe(2);
  });

  it.skipIf(!canRunArm64)("a RUN of an arm64 image runs through QEMU (uname -m is aarch64)", async () => {
    const work = mkdtempSync(join(tmpdir(), "tsbuild-arm64-rootfs-"));
    try {
      await storeBaseImage(h.root, "arm64base:1", busyboxTar(makeBusyboxRootfs(join(work, "rootfs"), { busybox: ARM64_BUSYBOX })), undefined, "arm64");
      const { out } = await h.buildText("FROM arm64base:1\nRUN uname -m > /m && mkdir -p /d && echo ok > /d/f\n", { platform: arm64 });
      expect(readFileSync(join(out, "m"), "utf8")).toBe("aarch64\n");
      expect(readFileSync(join(out, "d/f"), "utf8")).toBe("ok\n");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});
if (!canRunArm64) console.warn(`emulation.test: arm64 RUN test skipped: ${qemu.ok ? `no arm64 busybox at ${ARM64_BUSYBOX} (scripts/setup-emulation.sh downloads it)` : qemu.why}`);
