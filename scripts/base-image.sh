#!/usr/bin/env bash
# Makes the local Debian base image that every Tabby image builds on. No registry is reachable, so the root file
# system comes from Debian's packages through debootstrap, is cached as a tarball, and is `docker import`ed.
# Idempotent: an existing image is kept; the cached tarball makes a re-import on a fresh engine take seconds.
set -euo pipefail
log() { printf '[base-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

IMAGE=${TABBY_BASE_IMAGE:-tabby/debian:bookworm}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${TABBY_CACHE:-$HOME/.cache/tabby}/images
TARBALL=$CACHE/debian-$SUITE-minbase.tar
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=docker

if $DOCKER image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE present"
  exit 0
fi

if [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null 2>&1 || { log "installing debootstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  mkdir -p "$CACHE"
  root=$(mktemp -d /tmp/tabby-rootfs.XXXXXX)
  trap 'rm -rf "$root"' EXIT
  log "debootstrap $SUITE (minbase) from $MIRROR — about a minute"
  debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  # Keep the image small and reproducible: no apt lists or caches, no docs.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" >"$root/etc/apt/sources.list"
  tar -C "$root" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
fi

log "importing $TARBALL as $IMAGE"
$DOCKER import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' "$TARBALL" "$IMAGE" >/dev/null
$DOCKER run --rm "$IMAGE" /bin/true
log "$IMAGE ready ($($DOCKER image inspect -f '{{.Size}}' "$IMAGE") bytes)"
