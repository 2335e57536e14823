# erlmcp-secrets: the init container / sidecar / exec wrapper / webhook image.
#
#   docker build -t erlmcp-secrets .                                  # runtime (default)
#   docker build --target runtime-binary -t erlmcp-secrets:binary .   # single executable
#
# runtime (default, the last stage): the bundle on distroless/nodejs24 with
#   the V8 code cache of its loader warmed at build time by the same node,
#   and a HEALTHCHECK that node itself runs (no curl, no shell).
# runtime-binary: the single executable (Node 24, the agent and a V8 startup
#   snapshot of it in one file) on distroless/cc. Starts as fast, but costs
#   more memory in a sidecar's cgroup (docs/containers.md has the measured
#   figures), has no HEALTHCHECK (nothing in it could run one; Kubernetes
#   ignores HEALTHCHECK anyway and probes /healthz and /readyz over HTTP),
#   and its Node is the one it was built with, where the default image takes
#   Node 24 patches from its base.
#
# No `# syntax=` line: the engine's own Dockerfile frontend builds this file,
# so an air-gapped machine with its base images at hand needs no registry.
#
# Both run as uid/gid 65532, need no writable path but the output volume (a
# tmpfs), and work with readOnlyRootFilesystem.

ARG BUILD_IMAGE=node:24-bookworm
ARG NODE_RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot
ARG BINARY_RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
# the oldest OTP the reload module must load on: a .beam loads on its own
# OTP release and newer ones, not on older ones
ARG ERLANG_IMAGE=erlang:25-slim

# erlmcp_secrets_reload.beam: the built-in `erlang` reload sends it to the
# node (code:load_binary/3), so erlmcp needs no change to use it
FROM ${ERLANG_IMAGE} AS beam
COPY templates/erlang/erlmcp_secrets_reload.erl /src/
RUN mkdir /out && erlc -o /out /src/erlmcp_secrets_reload.erl

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY image/ image/
COPY agent/ agent/
# the bundle, then the single executable from the project's own Node 24
# (node_modules/node, pinned by the lockfile): strip, blob, postject
RUN npm run build && npm run build:binary \
 && mkdir -p /out/code-cache /out/warm-output

# Fills the bundle's code cache (image/code-cache-loader.cjs) with the same
# node binary the runtime image has: the cache names the node version and
# is only valid for it. One cache file per command, and for init one that
# holds every provider path (file, vault, aws, azure, gcp) plus a cache per
# cloud provider chunk: image/warm-code-cache.mjs runs them all with the
# entrypoint's node flags; `run` and `exec` start from init's cache.
FROM ${NODE_RUNTIME_IMAGE} AS warm
COPY --from=build /src/dist/erlmcp-secrets.js /app/erlmcp-secrets.js
COPY --from=build --chown=65532:65532 /out/code-cache /app/code-cache
# examples/local renders into ../../out/local, i.e. /warm/out/local
COPY --from=build --chown=65532:65532 /out/warm-output /warm/out
COPY --chown=65532:65532 templates/ /warm/templates/
COPY --chown=65532:65532 examples/local/ /warm/examples/local/
COPY image/warm-code-cache.mjs /warm/warm-code-cache.mjs
# a cache directory, not a secret ("SECRETS" is the program's name)
# hadolint ignore=DL3064
ENV ERLMCP_SECRETS_CODE_CACHE=/app/code-cache
USER 65532:65532
# exec form (distroless has no shell); node flags: image/node-flags.json.
# The script also makes the caches 0444 (no COPY --chmod: the classic builder builds this file too)
# hadolint ignore=DL3059
RUN ["/nodejs/bin/node", "/warm/warm-code-cache.mjs", "/nodejs/bin/node", "--disable-sigusr1", "--max-semi-space-size=1", "--lite-mode", "/app/erlmcp-secrets.js", "/warm/examples/local/agent.yaml"]

FROM ${BINARY_RUNTIME_IMAGE} AS runtime-binary
# the global ARG again, so the base.name label names the base really used
ARG BINARY_RUNTIME_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="erlmcp-secrets" \
      org.opencontainers.image.description="Secret agent for erlmcp: init gate, sidecar, exec wrapper and admission webhook (single executable)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BINARY_RUNTIME_IMAGE}"
COPY --from=build /src/dist/erlmcp-secrets /usr/local/bin/erlmcp-secrets
COPY templates/*.mustache /usr/share/erlmcp-secrets/templates/
COPY templates/erlmcp/*.mustache /usr/share/erlmcp-secrets/templates/erlmcp/
COPY --from=beam /out/erlmcp_secrets_reload.beam /usr/share/erlmcp-secrets/erlang/
USER 65532:65532
WORKDIR /
ENTRYPOINT ["/usr/local/bin/erlmcp-secrets"]
CMD ["run", "-c", "/etc/erlmcp-secrets/agent.yaml"]

FROM ${NODE_RUNTIME_IMAGE} AS runtime
ARG NODE_RUNTIME_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="erlmcp-secrets" \
      org.opencontainers.image.description="Secret agent for erlmcp: init gate, sidecar, exec wrapper and admission webhook (Node bundle)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${NODE_RUNTIME_IMAGE}"
COPY --from=build /src/dist/erlmcp-secrets.js /app/erlmcp-secrets.js
# root-owned and not writable by the image user: the loader only trusts
# such a cache (code cache is code); a miss is compiled and not written back
COPY --from=warm --chown=0:0 /app/code-cache /app/code-cache
COPY templates/*.mustache /usr/share/erlmcp-secrets/templates/
COPY templates/erlmcp/*.mustache /usr/share/erlmcp-secrets/templates/erlmcp/
COPY --from=beam /out/erlmcp_secrets_reload.beam /usr/share/erlmcp-secrets/erlang/
# hadolint ignore=DL3064
ENV ERLMCP_SECRETS_CODE_CACHE=/app/code-cache
USER 65532:65532
WORKDIR /app
# The sidecar's /healthz, asked by node itself (no curl in distroless).
# Set ERLMCP_SECRETS_HEALTH_URL when server.listen is not 127.0.0.1:9102.
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch(process.env.ERLMCP_SECRETS_HEALTH_URL || 'http://127.0.0.1:9102/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node flags: image/node-flags.json (why, and the test that keeps these in step)
ENTRYPOINT ["/nodejs/bin/node", "--disable-sigusr1", "--max-semi-space-size=1", "--lite-mode", "/app/erlmcp-secrets.js"]
CMD ["run", "-c", "/etc/erlmcp-secrets/agent.yaml"]
