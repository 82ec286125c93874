#!/bin/bash
# A kubelet node's boot, run by tini as PID 1 in a node container (e2e/kubelet/kube-cluster.ts starts it):
#   1. the host stays as found: files holding kubelet's wanted values are bind-mounted read-only over the host-wide
#      sysctls kubelet would otherwise write (it reads them, sees its value, and writes nothing);
#   2. every cgroup v1 hierarchy becomes writable (a remount fails as busy, a fresh mount works) and gets the
#      `kubelet` cgroup that kubelet's cgroupRoot names; `/` becomes rshared for kubelet's volume mounts;
#   3. routes to the other node subnets (TABBY_NODE_ROUTES, `;`-separated `ip route` arguments);
#   4. containerd, then every image under /images imported into its k8s.io namespace (nothing is ever pulled);
#   5. kube-proxy and kubelet with the configuration in /etc/kubernetes (written by the cluster for this node) and
#      the node's labels (TABBY_NODE_LABELS, kubelet's --node-labels: what NodeRestriction lets a kubelet set).
# Logs: /var/log/{containerd,kube-proxy,kubelet}.log. The node stops when any of its daemons exits.
set -euo pipefail
log() { printf '[kube-node %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# 1. kubelet's setupKernelTunables (pkg/kubelet/cm/container_manager_linux.go), values from pkg/util/sysctl.
mkdir -p /run/kube-node/sysctl
for pair in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
  kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
  key=${pair%%=*} file=/run/kube-node/sysctl/${key//\//.}
  echo "${pair#*=}" >"$file"
  mount --bind "$file" "/proc/sys/$key"
  mount -o remount,bind,ro "/proc/sys/$key"
done

# 2. cgroups. Fields after mountinfo's "-" separator: fstype, source, super options (rw,<controllers>).
awk '{ for (i = 7; $i != "-"; i++); if ($(i+1) == "cgroup") { print $5, $(i+3) } }' /proc/self/mountinfo |
  while read -r mountpoint options; do
    controllers=$(tr ',' '\n' <<<"$options" | grep -vx 'rw\|ro' | paste -sd,)
    umount "$mountpoint"
    mount -t cgroup -o "$controllers" cgroup "$mountpoint"
    mkdir -p "$mountpoint/kubelet"
    if [ -f "$mountpoint/cpuset.cpus" ]; then
      cat "$mountpoint/cpuset.cpus" >"$mountpoint/kubelet/cpuset.cpus"
      cat "$mountpoint/cpuset.mems" >"$mountpoint/kubelet/cpuset.mems"
    fi
  done
mount --make-rshared /
[ -s /etc/machine-id ] || tr -d '-' </proc/sys/kernel/random/uuid >/etc/machine-id

# 3. routes
IFS=';' read -r -a routes <<<"${TABBY_NODE_ROUTES:-}"
for r in "${routes[@]}"; do
  [ -n "$r" ] && ip route replace $r
done

# 4. containerd and the images
containerd --config /etc/containerd/config.toml >/var/log/containerd.log 2>&1 &
for _ in $(seq 1 300); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done
ctr version >/dev/null || { log "containerd did not start"; tail -20 /var/log/containerd.log; exit 1; }
for tar in /images/*.tar; do
  [ -e "$tar" ] || continue
  ctr -n k8s.io images import --local "$tar" >/dev/null
done
log "containerd ready with $(ctr -n k8s.io images ls -q | grep -vc '^sha256:') images"

# 5. kube-proxy and kubelet
node=$(hostname)
kube-proxy --config=/etc/kubernetes/kube-proxy.yaml --hostname-override="$node" >/var/log/kube-proxy.log 2>&1 &
kubelet --config=/etc/kubernetes/kubelet.yaml --kubeconfig=/etc/kubernetes/kubelet.kubeconfig \
  --hostname-override="$node" ${TABBY_NODE_LABELS:+--node-labels="$TABBY_NODE_LABELS"} >/var/log/kubelet.log 2>&1 &
log "kubelet and kube-proxy started for node $node"
touch /run/kube-node/started
set +e
wait -n
status=$?
log "a node daemon exited ($status); stopping the node"
exit "$status"
