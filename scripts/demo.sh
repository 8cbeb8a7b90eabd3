#!/usr/bin/env bash
# The end-to-end demo (`npm run demo`): make a busybox base image from Debian's busybox-static (no
# registry, no internet), build fixtures/demo (a two-stage Dockerfile) and run the result.
# Uses its own store under .demo-store/ unless TSBUILD_ROOT is set.
set -euo pipefail
cd "$(dirname "$0")/.."
export TSBUILD_ROOT=${TSBUILD_ROOT:-$PWD/.demo-store}
tsbuild() { node packages/cli/bin/tsbuild.js "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root" "$rootfs/usr/local/bin"
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"

echo "== tsbuild import: busybox:demo from /bin/busybox"
tar -C "$rootfs" --numeric-owner -cf - . | tsbuild import - busybox:demo \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["sh"]'

echo "== tsbuild build -t demo:latest fixtures/demo"
tsbuild build -t demo:latest --progress=plain fixtures/demo

echo "== tsbuild run --rm demo:latest"
tsbuild run --rm demo:latest
