#!/usr/bin/env bash
# Multi-platform test support, run by scripts/setup.sh as root (idempotent, fast when done):
#   - Debian's qemu-user-static and binfmt-support, with only the handlers the tests use (qemu-aarch64,
#     qemu-arm) enabled in binfmt_misc (mounted first if it is not);
#   - an aarch64 busybox from Debian's busybox-static:arm64, unpacked to fixtures/.cache/arm64/busybox,
#     for arm64 base images.
# Where binfmt_misc cannot be mounted (a container without the privilege), it says so and the
# multi-platform tests skip, saying why.
set -uo pipefail
cd "$(dirname "$0")/.."
BINFMT=/proc/sys/fs/binfmt_misc
CACHE=fixtures/.cache/arm64

[ "$(id -u)" = 0 ] || { echo "setup-emulation: not root, skipped (multi-platform tests will skip)" >&2; exit 0; }
if ! command -v qemu-aarch64-static >/dev/null 2>&1 || ! command -v update-binfmts >/dev/null 2>&1; then
  echo "setup-emulation: installing qemu-user-static binfmt-support"
  install_qemu() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static binfmt-support >/dev/null 2>&1; }
  install_qemu || { apt-get update -qq && install_qemu; } || { echo "setup-emulation: could not install QEMU (multi-platform tests will skip)" >&2; exit 0; }
fi
if [ ! -e "$BINFMT/status" ]; then
  mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null || { echo "setup-emulation: binfmt_misc cannot be mounted here (multi-platform tests will skip)" >&2; exit 0; }
fi
for h in qemu-aarch64 qemu-arm; do
  if [ ! -e "$BINFMT/$h" ]; then
    update-binfmts --enable "$h" >/dev/null 2>&1 || update-binfmts --import "$h" >/dev/null 2>&1 || echo "setup-emulation: could not register $h" >&2
  fi
done

if [ ! -x "$CACHE/busybox" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then dpkg --add-architecture arm64; apt-get update -qq; fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  if (cd "$tmp" && apt-get download -qq busybox-static:arm64 >/dev/null 2>&1) || { apt-get update -qq && (cd "$tmp" && apt-get download -qq busybox-static:arm64 >/dev/null); }; then
    dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$tmp/x" && mkdir -p "$CACHE" && install -m 0755 "$tmp/x/bin/busybox" "$CACHE/busybox.part" && mv "$CACHE/busybox.part" "$CACHE/busybox"
  else
    echo "setup-emulation: could not download busybox-static:arm64 (arm64 tests will skip)" >&2
  fi
fi
exit 0
