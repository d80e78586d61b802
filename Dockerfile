# Trellis's image: the control plane (`serve`, the Helm chart's Deployment) and `trellis capture` (the init container
# the webhook injects, run as root with NET_ADMIN and NET_RAW, which needs iptables-restore).
# No Docker engine runs where this repository is tested: the image is not built there (see the README).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY proto ./proto
COPY envoy-bootstrap ./envoy-bootstrap
COPY crds ./crds
COPY helm ./helm
# npm ci runs the prepare script: npm run gen (the Envoy API types, crds/, the chart's generated files), then the build.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends iptables \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/proto ./proto
COPY --from=build /app/envoy-bootstrap ./envoy-bootstrap
# `trellis` on PATH for the injected init container (command: trellis capture ...). A wrapper, not a symlink to
# dist/cli.js: through a symlink, cli.js would not see itself as the main module and would do nothing.
RUN printf '#!/bin/sh\nexec node /app/dist/cli.js "$@"\n' > /usr/local/bin/trellis && chmod 0755 /usr/local/bin/trellis
# Non-root, numeric (runAsNonRoot can check it): the chart's Deployment runs as 10001 too. The capture init
# container sets runAsUser 0 itself.
USER 10001:10001
ENTRYPOINT ["node", "dist/cli.js"]
