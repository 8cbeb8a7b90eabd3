#!/usr/bin/env bash
# Builds tsbuild's own image (the Dockerfile at the repository's root) with tsbuild, as root:
#   bash scripts/build-image.sh [TAG] [tsbuild build flags…]      (npm run image; TAG default tsbuild:dev)
# Makes (once, cached) the Debian base and the .deb files (scripts/make-debian-base.sh), imports the
# base into the store as tsbuild-debian-base:trixie when it is not there, stages the build context
# (Dockerfile, debs/, tsbuild/: the CLI bundle, its launcher, undici) in a temp directory and builds
# it. Extra flags go to tsbuild build (--root, --push, --cache-to/--cache-from, -o …).
# Needs `npm run build` first (the bundle).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tag=${1:-tsbuild:dev}
shift || true
tsbuild=(node "$repo/packages/cli/bin/tsbuild.js")
bundle="$repo/packages/cli/dist/bundle/tsbuild.cjs"
[ -f "$bundle" ] || { echo "build-image: no CLI bundle: run npm run build first" >&2; exit 1; }

cache=$(bash "$repo/scripts/make-debian-base.sh")
root=()
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = --root ]; then j=$((i + 1)); root=(--root "${!j}"); fi
  case "${!i}" in --root=*) root=("${!i}") ;; esac
done
if ! "${tsbuild[@]}" inspect "${root[@]}" tsbuild-debian-base:trixie >/dev/null 2>&1; then
  "${tsbuild[@]}" import "${root[@]}" "$cache/rootfs.tar" tsbuild-debian-base:trixie \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["bash"]' \
    -m "debootstrap --variant=minbase trixie (scripts/make-debian-base.sh)" >/dev/null
fi

ctx=$(mktemp -d /tmp/tsbuild-image-ctx-XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp "$repo/Dockerfile" "$ctx/Dockerfile"
cp -a "$cache/debs" "$ctx/debs"
mkdir -p "$ctx/tsbuild/node_modules"
cp "$bundle" "$ctx/tsbuild/tsbuild.bundle.cjs"
cp "$repo/packages/cli/bin/code-cache.js" "$repo/scripts/image/tsbuild.cjs" "$ctx/tsbuild/"
cp -a "$repo/node_modules/undici" "$ctx/tsbuild/node_modules/undici"
"${tsbuild[@]}" build -t "$tag" "$@" "$ctx"
