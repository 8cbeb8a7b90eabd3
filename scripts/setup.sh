#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: the system tools tsbuild and its tests use, and the
# npm dependencies (compiled by `npm ci`'s prepare step). Fast when everything is already there.
#   runc            runs RUN steps            busybox-static  makes base images without a registry
#   docker-registry pull/push tests           skopeo, umoci   interoperability tests
#   zstd            zstd layers               apache2-utils   htpasswd for registry auth tests
#   attr            getfattr/setfattr (overlay opaque dirs, xattrs)
#   bzip2, xz-utils ADD of .tar.bz2 / .tar.xz archives      procps   pgrep in the cleanup tests
#   openssh-client  ssh-agent/ssh-add/ssh-keygen: --ssh KEYFILE agents, the RUN --mount=type=ssh tests
#   git             ADD of git repositories (and git daemon / git http-backend in their tests)
#   openssh-client, openssh-server   git over ssh (ssh, ssh-agent; sshd in the ssh test)
#   uidmap          newuidmap/newgidmap: rootless builds (a user's /etc/subuid ranges) and their tests
#   debootstrap     the Debian base of tsbuild's own image (scripts/make-debian-base.sh; own-image.test.ts)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in runc:runc docker-registry:docker-registry busybox:busybox-static skopeo:skopeo umoci:umoci \
            zstd:zstd htpasswd:apache2-utils getfattr:attr bzip2:bzip2 xz:xz-utils pgrep:procps openssl:openssl \
            git:git ssh-agent:openssh-client /usr/sbin/sshd:openssh-server newuidmap:uidmap /usr/sbin/debootstrap:debootstrap; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/bin/$cmd" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing system packages: ${need[*]} (install them as root: apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# QEMU for arm64/arm RUN steps and an arm64 busybox for the multi-platform tests (they skip without)
bash scripts/setup-emulation.sh

if [ ! -x node_modules/.bin/tsc ] || [ ! -x node_modules/.bin/vitest ]; then
  npm ci --no-audit --no-fund
fi
