#!/usr/bin/env bash
# Makes what tsbuild's own image (the Dockerfile at the repository's root) is built from, once, under
# fixtures/.cache/debian-SUITE/ (SUITE: $DEBIAN_SUITE, default trixie — Debian 13, whose nodejs is 20,
# the version tsbuild needs; bookworm's is 18):
#   rootfs.tar   a minbase Debian root file system made by debootstrap (no /dev nodes, no apt lists),
#                imported as the image's base (`tsbuild import`, or the tests' storeBaseImage)
#   debs/        the .deb files of nodejs, runc, uidmap, git, ca-certificates, the tools README's Install
#                lists (attr, zstd, bzip2, xz-utils, openssh-client) and libcap2-bin (setcap, for
#                newuidmap's file capabilities: see the Dockerfile), with every dependency
#                minbase lacks, as apt in that root resolves them (no recommends); the Dockerfile's RUN
#                installs them with dpkg from a bind mount of the context, so the build needs no
#                network and no apt index (fast, and the same packages every time)
# Needs root, debootstrap and Debian's mirror ($DEBIAN_MIRROR). Prints the cache directory.
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${DEBIAN_SUITE:-trixie}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=(nodejs runc uidmap git ca-certificates libcap2-bin attr zstd bzip2 xz-utils openssh-client)
cache="$PWD/fixtures/.cache/debian-$suite"

# made once for this list of packages (the marker holds it: another list makes it again)
if [ -f "$cache/complete" ] && [ "$(cat "$cache/complete")" = "${packages[*]}" ]; then echo "$cache"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "make-debian-base: run as root (debootstrap and chroot need it)" >&2; exit 1; fi
if ! command -v debootstrap >/dev/null; then
  echo "make-debian-base: installing debootstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

tmp=$(mktemp -d /tmp/tsbuild-debian-XXXXXX)
root="$tmp/rootfs"
cleanup() {
  for m in proc; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"; done
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "make-debian-base: debootstrap --variant=minbase $suite ($mirror)" >&2
debootstrap --variant=minbase --components=main "$suite" "$root" "$mirror" >"$tmp/debootstrap.log" 2>&1 \
  || { tail -20 "$tmp/debootstrap.log" >&2; exit 1; }

# the packages' files as apt in the new root resolves them, downloaded into its archive cache
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
chroot "$root" apt-get clean # debootstrap leaves the base's own .debs in the archive cache
chroot "$root" apt-get update -qq
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --download-only --no-install-recommends "${packages[@]}" >/dev/null
umount "$root/proc"
mkdir -p "$tmp/debs"
mv "$root"/var/cache/apt/archives/*.deb "$tmp/debs/"

# a base as Debian's own images are: no device nodes (the runtime makes /dev), no apt lists or caches,
# no resolv.conf (each container is given one)
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/* "$root/etc/resolv.conf" "$root"/tmp/* "$root"/dev/*
printf '%s\n' "$suite" >"$root/etc/debian_chroot"
tar --numeric-owner --xattrs --sort=name --mtime=@1700000000 --clamp-mtime -C "$root" -cf "$tmp/rootfs.tar" .

mkdir -p "$cache"
rm -rf "$cache/debs" "$cache/rootfs.tar"
mv "$tmp/debs" "$cache/debs"
mv "$tmp/rootfs.tar" "$cache/rootfs.tar"
(cd "$cache/debs" && ls *.deb) >"$cache/packages.txt"
echo "${packages[*]}" >"$cache/complete"
echo "$cache"
