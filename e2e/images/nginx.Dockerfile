# registry.k8s.io/e2e-test-images/nginx, which upstream re-tags from Docker's nginx image, made here from Debian's
# nginx package: a web server answering on port 80 with a default page, which is all the tests use it for.
ARG BASE_IMAGE=tabby/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light >/dev/null \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
 && ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
