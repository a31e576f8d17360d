# Natter, a NATS-compatible server, as a container image that stands in for
# the nats image: `nats-server` is Natter, the default command reads
# /etc/nats/nats-server.conf, and charts that pass `--config <file>` as the
# container's arguments work unchanged.
#
#   docker build -t natter .          (BuildKit, Docker's default builder: RUN --mount caches npm)
#   docker run -p 4222:4222 -p 8222:8222 natter
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim

# The build: the TypeScript compiler and the other dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own prepare script builds, which needs src/ (copied below).
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build --silent

# The runtime dependencies alone, installed apart so that no dev dependency
# reaches the final image.
FROM ${NODE_IMAGE} AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
# Keep in step with package.json (test/k8s/image-build.test.ts checks).
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG NODE_IMAGE
LABEL org.opencontainers.image.title="natter" \
      org.opencontainers.image.description="A NATS-compatible messaging server for Node.js (nats-server flags, config files and monitoring)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
# A fixed, unprivileged uid/gid (10001) that a pod securityContext
# (runAsUser, fsGroup) can name; it owns the JetStream store and the pid
# file's directory, which volumes usually replace.
RUN groupadd --gid 10001 natter \
 && useradd --uid 10001 --gid natter --home-dir /data --no-create-home --shell /usr/sbin/nologin natter \
 && mkdir -p /data /var/run/nats /etc/nats \
 && chown natter:natter /data /var/run/nats
WORKDIR /app
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/dist/src ./dist/src
COPY docker/nats-server docker/natter-server /usr/local/bin/
COPY docker/nats-server.conf /etc/nats/nats-server.conf
ENV NODE_ENV=production
USER natter:natter
# clients, routes, leaf nodes, gateways, monitoring, websocket
EXPOSE 4222 6222 7422 7522 8222 8080
# The server is PID 1 (no shell, no init): it handles SIGTERM and SIGINT
# (shutdown), SIGHUP (reload), SIGUSR1 (reopen the log) and SIGUSR2 (lame duck).
ENTRYPOINT ["natter-server"]
CMD ["--config", "/etc/nats/nats-server.conf"]
