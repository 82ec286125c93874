# registry.k8s.io/e2e-test-images/busybox, which upstream re-tags from Docker's busybox image (a static busybox and
# its applet links), made here from Debian's busybox-static package: the same program, Debian's build of it.
ARG BASE_IMAGE=tabby/debian:bookworm
FROM ${BASE_IMAGE} AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends busybox-static >/dev/null \
 && mkdir -p /rootfs/bin /rootfs/etc /rootfs/tmp /rootfs/root /rootfs/var/www \
 && cp /bin/busybox /rootfs/bin/busybox && /bin/busybox --install -s /rootfs/bin \
 && for l in /rootfs/bin/*; do [ "$l" = /rootfs/bin/busybox ] || ln -sf busybox "$l"; done \
 && printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >/rootfs/etc/passwd \
 && printf 'root:x:0:\nnobody:x:65534:\n' >/rootfs/etc/group && chmod 1777 /rootfs/tmp
FROM scratch
COPY --from=build /rootfs/ /
CMD ["sh"]
