# CoreDNS for the cluster's DNS add-on (e2e/kubelet/coredns.ts): the binary alone. The add-on's Deployment drops every
# capability but NET_BIND_SERVICE, as kubeadm's does.
FROM scratch
COPY coredns /coredns
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]
