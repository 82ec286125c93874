#!/usr/bin/env bash
# Makes sure a Docker engine runs on this machine: installs Debian's docker.io when no dockerd exists, starts dockerd
# when its socket does not answer, and waits for it. Idempotent; prints the engine version when ready.
# A dockerd this script starts keeps running after it exits (tests need it); `scripts/docker-down.sh` stops it.
set -euo pipefail
log() { printf '[docker-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

SOCK=/var/run/docker.sock
DOCKER=/usr/bin/docker   # Debian's client matches Debian's engine; another docker on PATH may be newer than it.
[ -x "$DOCKER" ] || DOCKER=$(command -v docker || true)

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing Debian's docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq docker.io >/dev/null
  DOCKER=/usr/bin/docker
fi

answers() { [ -S "$SOCK" ] && curl -sf --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }

if ! answers; then
  log "starting dockerd"
  mkdir -p /var/log/tabby
  # No registry is reachable: nothing may try to pull. iptables stays on so --internal networks are isolated.
  nohup dockerd --host "unix://$SOCK" >/var/log/tabby/dockerd.log 2>&1 &
  echo $! >/var/run/tabby-dockerd.pid
  for _ in $(seq 1 60); do answers && break; sleep 0.5; done
  answers || { log "dockerd did not answer within 30 s; see /var/log/tabby/dockerd.log"; tail -20 /var/log/tabby/dockerd.log >&2; exit 1; }
fi
log "engine $(curl -sf --unix-socket "$SOCK" http://localhost/version | sed -E 's/.*"Version":"([^"]+)".*/\1/') ready at $SOCK"
