# tsbuild's own image: tsbuild on Debian 13 (its nodejs, runc, uidmap and git packages), running as
# the user tsbuild (1000), who has the subordinate ids 100000-165535 (SUBIDS): tsbuild builds rootless in it,
# in a user namespace it makes. Build it with `npm run image` (scripts/build-image.sh): that makes
# the context this file expects —
#   debs/      the .deb files of the packages and their dependencies (scripts/make-debian-base.sh,
#              which also makes the Debian minbase the BASE image is imported from)
#   tsbuild/   the CLI bundle, its launcher and undici (the one module the bundle loads from disk)
# The packages are installed from those files with dpkg, through a bind mount: the RUN needs no
# network and no apt index, and the .debs stay out of the layers. docs/ci.md has the CI recipes.
ARG BASE=tsbuild-debian-base:trixie
FROM ${BASE}

RUN --mount=type=bind,source=debs,target=/tmp/debs \
    DEBIAN_FRONTEND=noninteractive dpkg --install --force-confold --force-unsafe-io /tmp/debs/*.deb >/dev/null \
 && rm -rf /var/log/dpkg.log /var/log/apt /var/cache/debconf/*-old /var/lib/dpkg/*-old \
 && chmod u-s /usr/bin/newuidmap /usr/bin/newgidmap \
 && setcap cap_setuid=ep /usr/bin/newuidmap \
 && setcap cap_setgid=ep /usr/bin/newgidmap

# ^ newuidmap/newgidmap with file capabilities instead of setuid root (as BuildKit's rootless image):
# set-uid root, newuidmap opens /proc/PID/uid_map as euid 0, and in a container without
# CAP_SYS_ADMIN the kernel refuses the write (the opener must hold CAP_SYS_ADMIN over the new
# namespace: its owner, the user, does, root without the capability does not). With cap_setuid
# it stays the user and holds just the capability the mapping needs.

# the build user, its subordinate id range (newuidmap/newgidmap map it into the build's namespace:
# START:COUNT, ids the container itself has — in a container that is in a user namespace of its own,
# e.g. a Kubernetes pod with hostUsers: false, only 0-65535: --build-arg SUBIDS=1001:64535) and its
# store (~/.local/share/tsbuild; give it a volume: overlay snapshots need a file system under them
# that is not itself an overlay, else tsbuild uses the copy snapshotter)
ARG SUBIDS=100000:65536
RUN useradd --uid 1000 --user-group --create-home --shell /bin/bash tsbuild \
 && echo "tsbuild:${SUBIDS}" > /etc/subuid \
 && echo "tsbuild:${SUBIDS}" > /etc/subgid \
 && install -d -o tsbuild -g tsbuild /home/tsbuild/.local /home/tsbuild/.local/share /home/tsbuild/.local/share/tsbuild /workspace

COPY tsbuild/ /usr/local/lib/tsbuild/
RUN ln -s /usr/local/lib/tsbuild/tsbuild.cjs /usr/local/bin/tsbuild && tsbuild version

USER tsbuild
WORKDIR /workspace
VOLUME /home/tsbuild/.local/share/tsbuild
ENTRYPOINT ["tsbuild"]
CMD ["--help"]
