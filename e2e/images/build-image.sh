#!/usr/bin/env bash
# Builds the Tabby image from the Dockerfile with the local engine. Tag: tabby:<package version>-<git commit>
# (plus `-dirty` for uncommitted changes), also tagged tabby:dev. Prints the tag on stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { printf '[build-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=docker

bash e2e/images/node-base.sh
version=$(node -p 'require("./package.json").version')
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo nogit)
# An uncommitted tree gets a tag from its content, so two different working trees never share (and overwrite) a tag.
if [ -n "$(git status --porcelain -- src scripts/bundle-cni.mjs package.json package-lock.json Dockerfile crds bin tsconfig.json tsconfig.build.json 2>/dev/null)" ]; then
  content=$(tar -c --sort=name --mtime=@0 --owner=0 --group=0 src scripts/bundle-cni.mjs package.json package-lock.json Dockerfile crds bin tsconfig.json tsconfig.build.json 2>/dev/null | sha256sum | cut -c1-10)
  commit="$commit-dirty-$content"
fi
tag="tabby:$version-$commit"
if $DOCKER image inspect "$tag" >/dev/null 2>&1; then
  log "$tag present"
else
  log "docker build -t $tag"
  start=$SECONDS
  $DOCKER build -q -t "$tag" -t tabby:dev . >/dev/null
  log "built $tag in $((SECONDS - start)) s ($($DOCKER image inspect -f '{{.Size}}' "$tag") bytes)"
fi
$DOCKER tag "$tag" tabby:dev
echo "$tag"
