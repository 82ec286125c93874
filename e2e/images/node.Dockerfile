# A Kubernetes "node" for Tabby's dataplane tests: the Tabby image plus what a node host has and a test needs
# (cnitool to drive the CNI plugin, the reference portmap plugin Tabby's conflist chains, tcpdump to count packets). It runs as root, privileged, one container per node.
ARG TABBY_IMAGE=tabby:dev
FROM ${TABBY_IMAGE}
USER 0:0
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends tcpdump procps containernetworking-plugins >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /opt/cni/bin /etc/cni/net.d /var/run/tabby /var/run/netns \
 && ln -s /usr/lib/cni/portmap /usr/lib/cni/bandwidth /opt/cni/bin/
COPY cnitool /usr/local/bin/cnitool
ENTRYPOINT []
CMD ["sleep", "infinity"]
