# registry.k8s.io/e2e-test-images/agnhost as test/images/agnhost/Dockerfile makes it, on Debian instead of Alpine
# (the same tools from Debian's packages: dig, curl, wget, nc, ip/ss, iperf, bash, ipcs) and the CoreDNS built here at
# /coredns (upstream bundles a 1.6 release; DNS tests run it as a throwaway name server). Left out: the fake
# registry's content, which only image-pulling tests use.
ARG BASE_IMAGE=tabby/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends bind9-dnsutils curl wget netcat-openbsd iproute2 iperf bash \
      util-linux ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
 && ln -s /usr/bin/iperf /usr/local/bin/iperf \
 && mkdir /uploads \
 && useradd -u 1000 -M user-defined-in-image \
 && groupadd -g 50000 group-defined-in-image \
 && usermod -aG group-defined-in-image user-defined-in-image
COPY localhost.crt localhost.key /
COPY coredns /coredns
COPY agnhost /agnhost
RUN ln -s agnhost /agnhost-2
EXPOSE 80 8080 8081 9376 5000
ENTRYPOINT ["/agnhost"]
CMD ["pause"]
