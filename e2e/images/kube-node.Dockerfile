# A Kubernetes node as kubeadm leaves one, without systemd: containerd + runc, kubelet, kube-proxy and the reference
# CNI plugins (loopback, portmap, bandwidth — the kubernetes-cni package) on Debian. No Node.js and no Tabby: the
# agent's DaemonSet pod installs tabby-cni with its own runtime, as on a real host. Built by e2e/kubelet/images.ts.
ARG BASE_IMAGE=tabby/debian:bookworm
FROM ${BASE_IMAGE}
# iptables/conntrack: kube-proxy and portmap; tini: PID 1 that reaps the shims' orphans; the rest for debugging.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends iproute2 iptables conntrack ethtool socat kmod ca-certificates \
      procps iputils-ping tini tcpdump curl >/dev/null \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
 && mkdir -p /opt/cni/bin /etc/cni/net.d /var/lib/kubelet /var/lib/containerd /etc/containerd
COPY bin/ /usr/local/bin/
COPY cni/ /opt/cni/bin/
COPY containerd.toml /etc/containerd/config.toml
COPY kube-node-entrypoint.sh /usr/local/bin/kube-node-entrypoint
ENTRYPOINT ["/usr/bin/tini", "-g", "--", "/usr/local/bin/kube-node-entrypoint"]
