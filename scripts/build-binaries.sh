#!/usr/bin/env bash
# Builds the real control-plane binaries Tabby's tests run against (kube-apiserver, kube-controller-manager,
# kubectl, etcd, helm, cnitool, portmap) from their official Go modules through the Go module proxy, once per pinned version.
# Results live in ~/.cache/tabby/bin/<name>-<version>/<name>; a binary that is already there is not rebuilt.
# Usage: scripts/build-binaries.sh [name ...]   (default: all)
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
CNI_VERSION=${CNI_VERSION:-v1.3.0}
CNI_PLUGINS_VERSION=${CNI_PLUGINS_VERSION:-v1.7.1}

CACHE=${TABBY_CACHE:-$HOME/.cache/tabby}
export GOMODCACHE=${GOMODCACHE:-$CACHE/go/mod}
export GOCACHE=${GOCACHE:-$CACHE/go/build}
export GOFLAGS=-mod=mod
export CGO_ENABLED=0
# Go 1.26 may otherwise try to download a toolchain named in a go.mod; none is reachable but the module proxy.
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '[build-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Runs a long build while printing a heartbeat, so a 6-minute compile never looks hung.
with_progress() {
  local what=$1; shift
  local start=$SECONDS
  "$@" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 20
    kill -0 "$pid" 2>/dev/null && log "$what: still building ($((SECONDS - start)) s)"
  done
  wait "$pid"
  log "$what: done in $((SECONDS - start)) s"
}

# k8s.io/kubernetes replaces its staging modules with ./staging/... paths, which `go install pkg@version` refuses;
# a wrapper module that points every staging module at its published v0.x release builds the same sources.
kube_module() {
  local dir=$CACHE/src/kubernetes-$KUBE_VERSION
  if [ -f "$dir/.ready" ]; then echo "$dir"; return; fi
  mkdir -p "$dir"
  local staging=v0.${KUBE_VERSION#v1.}
  (
    cd "$dir"
    rm -f go.mod go.sum
    go mod init tabby.local/kube-binaries >/dev/null 2>&1
    go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null
    local kmod
    kmod=$(go env GOMODCACHE)/k8s.io/kubernetes@$KUBE_VERSION/go.mod
    go mod edit -require="k8s.io/kubernetes@$KUBE_VERSION"
    # Not every staging module is published for every release (sample-* ones often are not); those are never
    # imported by the commands we build, so an empty local module satisfies the module graph.
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$kmod" | awk '{print $1}' | while read -r m; do
      if go mod download "$m@$staging" >/dev/null 2>&1; then
        go mod edit -replace="$m=$m@$staging" -require="$m@$staging"
      else
        log "$m@$staging is not published: using an empty stand-in module"
        mkdir -p "stub/$m" && printf 'module %s\n\ngo 1.21\n' "$m" >"stub/$m/go.mod"
        go mod edit -replace="$m=./stub/$m"
      fi
    done
    go mod edit -go="$(awk '/^go /{print $2}' "$kmod")"
  ) >&2
  touch "$dir/.ready"
  echo "$dir"
}

kube_ldflags() {
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  local pkg=k8s.io/component-base/version
  echo "-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
}

build_kube() {
  local name=$1 out=$CACHE/bin/$1-$KUBE_VERSION
  [ -x "$out/$name" ] && { log "$name $KUBE_VERSION cached"; return; }
  local dir; dir=$(kube_module)
  mkdir -p "$out"
  log "$name $KUBE_VERSION: building from k8s.io/kubernetes (several minutes on 2 cores)"
  with_progress "$name" bash -c "cd '$dir' && go build -trimpath -ldflags '$(kube_ldflags)' -o '$out/$name.tmp' k8s.io/kubernetes/cmd/$name"
  mv "$out/$name.tmp" "$out/$name"
}

build_etcd() {
  local out=$CACHE/bin/etcd-$ETCD_VERSION
  [ -x "$out/etcd" ] && { log "etcd $ETCD_VERSION cached"; return; }
  local dir=$CACHE/src/etcd-$ETCD_VERSION
  mkdir -p "$dir" "$out"
  cat >"$dir/main.go" <<'GO'
// Command etcd is the upstream etcd server, built from its module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$dir" && [ -f go.mod ] || (cd "$dir" && go mod init tabby.local/etcd >/dev/null 2>&1))
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2)
  log "etcd $ETCD_VERSION: building"
  with_progress etcd bash -c "cd '$dir' && go build -trimpath -ldflags '-s -w' -o '$out/etcd.tmp' ."
  mv "$out/etcd.tmp" "$out/etcd"
}

build_goinstall() {
  local name=$1 pkg=$2 version=$3 out=$CACHE/bin/$1-$3
  [ -x "$out/$name" ] && { log "$name $version cached"; return; }
  mkdir -p "$out"
  log "$name $version: go install $pkg@$version"
  with_progress "$name" env GOBIN="$out" go install -trimpath -ldflags '-s -w' "$pkg@$version"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(etcd kube-apiserver kubectl kube-controller-manager helm cnitool portmap)
for t in "${targets[@]}"; do
  case $t in
    etcd) build_etcd ;;
    kube-apiserver|kubectl|kube-controller-manager) build_kube "$t" ;;
    helm) build_goinstall helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" ;;
    cnitool) build_goinstall cnitool github.com/containernetworking/cni/cnitool "$CNI_VERSION" ;;
    portmap) build_goinstall portmap github.com/containernetworking/plugins/plugins/meta/portmap "$CNI_PLUGINS_VERSION" ;;
    *) echo "unknown binary: $t" >&2; exit 2 ;;
  esac
done
log "all requested binaries present under $CACHE/bin"
