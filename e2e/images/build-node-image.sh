#!/usr/bin/env bash
# Builds the node image for dataplane tests on top of the Tabby image (e2e/images/build-image.sh). Prints its tag.
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { printf '[build-node-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=docker
tabby_tag=$(bash e2e/images/build-image.sh)
# The node layer's own inputs are part of its tag: editing node.Dockerfile must not reuse an older node image.
node_inputs=$(sha256sum e2e/images/node.Dockerfile | cut -c1-8)
node_tag="tabby-node:${tabby_tag#tabby:}-n$node_inputs"
if $DOCKER image inspect "$node_tag" >/dev/null 2>&1; then
  log "$node_tag present"
else
  ctx=$(mktemp -d /tmp/tabby-node-image.XXXXXX)
  trap 'rm -rf "$ctx"' EXIT
  cp e2e/images/node.Dockerfile "$ctx/Dockerfile"
  cp "${TABBY_CNITOOL:-$HOME/.cache/tabby/bin/cnitool-v1.3.0/cnitool}" "$ctx/cnitool"
  start=$SECONDS
  $DOCKER build -q --build-arg "TABBY_IMAGE=$tabby_tag" -t "$node_tag" -t tabby-node:dev "$ctx" >/dev/null
  log "built $node_tag in $((SECONDS - start)) s"
fi
$DOCKER tag "$node_tag" tabby-node:dev
echo "$node_tag"
