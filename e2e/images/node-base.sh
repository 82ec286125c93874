#!/usr/bin/env bash
# Stands in for the registry image `node:20-bookworm-slim`, which cannot be pulled here: the local Debian bookworm
# base (scripts/base-image.sh) plus this machine's Node 20 (binary and bundled npm). Debian's own nodejs is 18, too
# old. The Dockerfile stays the one users build against the real registry image.
set -euo pipefail
log() { printf '[node-base %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
IMAGE=node:20-bookworm-slim
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=docker

if $DOCKER image inspect "$IMAGE" >/dev/null 2>&1; then log "$IMAGE present"; exit 0; fi
bash "$(dirname "$0")/../../scripts/base-image.sh"

node_bin=$(readlink -f "$(command -v node)")
version=$("$node_bin" --version)
case $version in v20.*) ;; *) log "need Node 20 on this machine to make $IMAGE (found $version)"; exit 1 ;; esac
npm_dir=$(dirname "$node_bin")/../lib/node_modules/npm
[ -d "$npm_dir" ] || npm_dir=$(npm root -g)/npm

ctx=$(mktemp -d /tmp/tabby-node-base.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp "$node_bin" "$ctx/node"
cp -a "$(readlink -f "$npm_dir")" "$ctx/npm"
# This machine may reach the npm registry through a TLS proxy with its own CA: the stand-in image trusts what the
# machine trusts, so `npm ci` inside `docker build` works here as it does on the host.
mkdir -p "$ctx/ca"
cp /usr/local/share/ca-certificates/*.crt "$ctx/ca/" 2>/dev/null || true
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM ${TABBY_BASE_IMAGE:-tabby/debian:bookworm}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca/ /usr/local/share/ca-certificates/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null \
 && update-ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && node --version && npm --version
ENV NODE_VERSION=${version#v} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
DOCKERFILE
log "building $IMAGE from the local Debian base and Node $version"
$DOCKER build -q -t "$IMAGE" "$ctx" >/dev/null
log "$IMAGE ready ($($DOCKER image inspect -f '{{.Size}}' "$IMAGE") bytes)"
