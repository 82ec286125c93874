# registry.k8s.io/pause as build/pause/Dockerfile makes it: the static pause binary alone, as user 65535.
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
