# Tabby: operator, node agent and CNI plugin in one image; the entrypoint is the `tabby` CLI.
# Builds against the registry's node:20-bookworm-slim; without a registry, e2e/images/node-base.sh makes a local one.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/bundle-cni.mjs ./scripts/
RUN npm run build && npm prune --omit=dev --no-audit --no-fund --loglevel=error

FROM node:20-bookworm-slim
# What the agent drives on a node: iproute2 (routes, links, neighbours), nftables (natOutgoing), BIRD 2 (BGP).
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends iproute2 nftables bird2 iputils-ping ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
WORKDIR /opt/tabby
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY crds ./crds
RUN ln -s /opt/tabby/bin/tabby.js /usr/local/bin/tabby
# The operator needs no privileges; the agent DaemonSet adds NET_ADMIN/NET_RAW and runs as root where it must.
USER 65532:65532
ENTRYPOINT ["node", "/opt/tabby/dist/cli/main.js"]
CMD ["--help"]
