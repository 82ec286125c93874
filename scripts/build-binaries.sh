#!/usr/bin/env bash
# Builds the real binaries Tabby's tests run against from their official Go modules through the Go module proxy,
# once per pinned version:
#   control plane: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, helm, cnitool, portmap
#   kubelet nodes: kubelet, kube-proxy, containerd (+ containerd-shim-runc-v2, ctr), runc, the reference CNI
#                  plugins a kubeadm node has (loopback, bandwidth besides portmap), pause, agnhost, coredns
#   conformance:   e2e.test (Kubernetes' own end-to-end suite, `go test -c` of k8s.io/kubernetes/test/e2e) and the
#                  ginkgo CLI that runs it in parallel
# Results live in ~/.cache/tabby/bin/<name>-<version>/<name>; a binary that is already there is not rebuilt.
# Usage: scripts/build-binaries.sh [name ...]   (default: all)
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
CNI_VERSION=${CNI_VERSION:-v1.3.0}
CNI_PLUGINS_VERSION=${CNI_PLUGINS_VERSION:-v1.7.1}
# containerd's RELEASES.md lists 2.3.0+ for Kubernetes 1.36; its cgroup v1 support lasts through 2.x.
CONTAINERD_VERSION=${CONTAINERD_VERSION:-v2.3.7}
RUNC_VERSION=${RUNC_VERSION:-v1.5.3}
# The pause image Kubernetes $KUBE_VERSION names (test/utils/image/manifest.go), built from its build/pause source.
PAUSE_VERSION=${PAUSE_VERSION:-3.10.2}
COREDNS_VERSION=${COREDNS_VERSION:-v1.14.7}
# The ginkgo CLI runs e2e.test's specs in parallel processes, as hack/ginkgo-e2e.sh does (the version k8s.io/kubernetes
# $KUBE_VERSION requires).
GINKGO_VERSION=${GINKGO_VERSION:-v2.28.1}

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

# build_kube NAME [PACKAGE [LDFLAGS]]: a command of k8s.io/kubernetes (default cmd/NAME), from the wrapper module.
build_kube() {
  local name=$1 pkg=${2:-k8s.io/kubernetes/cmd/$1} out=$CACHE/bin/$1-$KUBE_VERSION
  [ -x "$out/$name" ] && { log "$name $KUBE_VERSION cached"; return; }
  local dir; dir=$(kube_module)
  mkdir -p "$out"
  log "$name $KUBE_VERSION: building $pkg (minutes on 2 cores)"
  with_progress "$name" bash -c "cd '$dir' && go build -trimpath -ldflags '$(kube_ldflags) ${3:-}' -o '$out/$name.tmp' $pkg"
  mv "$out/$name.tmp" "$out/$name"
}

kube_source() {
  local dir; dir=$(kube_module)
  (cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
}
agnhost_version() { cat "$(kube_source)/test/images/agnhost/VERSION"; }

# Kubernetes' end-to-end suite as the release ships it (kubernetes-test tarball's e2e.test): the test binary of
# k8s.io/kubernetes/test/e2e, which links every sig's tests.
build_e2e_test() {
  local out=$CACHE/bin/e2e.test-$KUBE_VERSION
  [ -x "$out/e2e.test" ] && { log "e2e.test $KUBE_VERSION cached"; return; }
  local dir; dir=$(kube_module)
  mkdir -p "$out"
  log "e2e.test $KUBE_VERSION: go test -c k8s.io/kubernetes/test/e2e (the longest build: every sig's tests)"
  with_progress e2e.test bash -c "cd '$dir' && go test -c -trimpath -ldflags '$(kube_ldflags)' -o '$out/e2e.test.tmp' k8s.io/kubernetes/test/e2e"
  mv "$out/e2e.test.tmp" "$out/e2e.test"
}

# The sandbox (infra) container's process, exactly as build/pause/Makefile compiles it.
build_pause() {
  local out=$CACHE/bin/pause-$PAUSE_VERSION
  [ -x "$out/pause" ] && { log "pause $PAUSE_VERSION cached"; return; }
  local src; src=$(kube_source)
  mkdir -p "$out"
  log "pause $PAUSE_VERSION: gcc -Os -static $src/build/pause/linux/pause.c"
  gcc -Os -Wall -Werror -static "-DVERSION=v$PAUSE_VERSION-$KUBE_VERSION" -o "$out/pause.tmp" "$src/build/pause/linux/pause.c"
  strip "$out/pause.tmp"
  mv "$out/pause.tmp" "$out/pause"
}

# containerd, its runc shim and ctr from one module version, into one folder.
build_containerd() {
  local out=$CACHE/bin/containerd-$CONTAINERD_VERSION pkg=github.com/containerd/containerd/v2
  if [ -x "$out/containerd" ] && [ -x "$out/containerd-shim-runc-v2" ] && [ -x "$out/ctr" ]; then
    log "containerd $CONTAINERD_VERSION cached"; return
  fi
  mkdir -p "$out"
  log "containerd $CONTAINERD_VERSION: go install cmd/containerd, cmd/containerd-shim-runc-v2, cmd/ctr"
  # As containerd's Makefile: no btrfs (needs cgo headers), version stamped; the shim without gRPC (ttrpc only).
  local ld="-s -w -X $pkg/version.Version=$CONTAINERD_VERSION -X $pkg/version.Package=$pkg"
  with_progress containerd env GOBIN="$out" go install -trimpath -tags 'urfave_cli_no_docs no_btrfs' -ldflags "$ld" \
    "$pkg/cmd/containerd@$CONTAINERD_VERSION" "$pkg/cmd/ctr@$CONTAINERD_VERSION"
  with_progress containerd-shim-runc-v2 env GOBIN="$out" go install -trimpath -tags 'urfave_cli_no_docs no_btrfs no_grpc' \
    -ldflags "$ld" "$pkg/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
}

# runc needs cgo for seccomp (Debian's libseccomp-dev); linked statically so any node image can run it.
build_runc() {
  local out=$CACHE/bin/runc-$RUNC_VERSION
  [ -x "$out/runc" ] && { log "runc $RUNC_VERSION cached"; return; }
  mkdir -p "$out"
  log "runc $RUNC_VERSION: go install (cgo, seccomp, static)"
  with_progress runc env CGO_ENABLED=1 GOBIN="$out" go install -trimpath -tags 'seccomp urfave_cli_no_docs netgo osusergo' \
    -ldflags '-s -w -extldflags -static' "github.com/opencontainers/runc@$RUNC_VERSION"
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
[ ${#targets[@]} -gt 0 ] || targets=(etcd kube-apiserver kubectl kube-controller-manager helm cnitool portmap
  kube-scheduler kubelet kube-proxy containerd runc loopback bandwidth pause agnhost coredns e2e.test ginkgo)
for t in "${targets[@]}"; do
  case $t in
    etcd) build_etcd ;;
    kube-apiserver|kubectl|kube-controller-manager|kube-scheduler|kubelet|kube-proxy) build_kube "$t" ;;
    # Its image tag is test/images/agnhost/VERSION, which test/utils/image/manifest.go names; agnhost reports it.
    agnhost) build_kube agnhost k8s.io/kubernetes/test/images/agnhost "-X main.Version=$(agnhost_version)" ;;
    e2e.test) build_e2e_test ;;
    pause) build_pause ;;
    containerd) build_containerd ;;
    runc) build_runc ;;
    coredns) build_goinstall coredns github.com/coredns/coredns "$COREDNS_VERSION" ;;
    ginkgo) build_goinstall ginkgo github.com/onsi/ginkgo/v2/ginkgo "$GINKGO_VERSION" ;;
    helm) build_goinstall helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" ;;
    cnitool) build_goinstall cnitool github.com/containernetworking/cni/cnitool "$CNI_VERSION" ;;
    portmap) build_goinstall portmap github.com/containernetworking/plugins/plugins/meta/portmap "$CNI_PLUGINS_VERSION" ;;
    loopback) build_goinstall loopback github.com/containernetworking/plugins/plugins/main/loopback "$CNI_PLUGINS_VERSION" ;;
    bandwidth) build_goinstall bandwidth github.com/containernetworking/plugins/plugins/meta/bandwidth "$CNI_PLUGINS_VERSION" ;;
    *) echo "unknown binary: $t" >&2; exit 2 ;;
  esac
done
log "all requested binaries present under $CACHE/bin"
