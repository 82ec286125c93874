#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs before `npm run demo` or `npm test`, idempotent and cached:
#   1. OS packages (apt): openssl, curl, iproute2, nftables, bird2, debootstrap, tcpdump, docker.io, and gcc with
#      static libc and libseccomp (pause and runc are C / cgo builds)
#   2. npm dependencies (npm ci) when node_modules is missing or older than package-lock.json
#   3. the real binaries, built once from their Go modules (~/.cache/tabby/bin): control plane, kubelet nodes
#      (kubelet, kube-proxy, containerd, runc, pause, agnhost, coredns) and Kubernetes' e2e.test
#   4. a running Docker engine and the locally made Debian base image (no registry is reachable)
# Set TABBY_SKIP_DOCKER=1 to skip step 4 (unit and integration tiers need no Docker).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
start=$SECONDS

need=()
for pkg in openssl curl iproute2 nftables bird2 debootstrap tcpdump docker.io iputils-ping gcc libc6-dev pkg-config libseccomp-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "need root to install: ${need[*]}"; exit 1; }
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The bird2 package may start a BIRD daemon of its own on installation; Tabby's agents run their own instances.
  # Only that one goes: right after the install, and only in this machine's own PID namespace — a plain
  # `pkill -x bird` also killed the BIRDs of every node container (and of tests) running at the time.
  if [[ " ${need[*]} " == *" bird2 "* ]]; then
    self_ns=$(readlink /proc/self/ns/pid)
    for pid in $(pgrep -x bird || true); do
      [ "$(readlink "/proc/$pid/ns/pid" 2>/dev/null)" = "$self_ns" ] && kill "$pid" 2>/dev/null || true
    done
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules
fi

bash scripts/build-binaries.sh

if [ "${TABBY_SKIP_DOCKER:-0}" != 1 ]; then
  bash scripts/docker-up.sh
  bash scripts/base-image.sh
fi
log "ready in $((SECONDS - start)) s"
