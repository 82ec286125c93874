# registry.k8s.io/e2e-test-images/glibc-dns-testing as test/images/glibc-dns-testing/Dockerfile makes it: Debian
# bookworm with dnsutils (the DNS tests' "jessie" querier, glibc's resolver) and CoreDNS at /coredns (the one built
# here; upstream bundles a 1.5 release).
ARG BASE_IMAGE=tabby/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends dnsutils >/dev/null \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
COPY coredns /coredns
