# The recommender-server image: Debian 12, the four tools, no compiler.
#
#   podman build --format docker --network host -t easymoney/recommender-server .   # scripts/container does this
#   docker build -t easymoney/recommender-server .
#
# BASE_IMAGE and RUNTIME_IMAGE name the Debian 12 images of the two stages, so
# that a locally imported base works where no registry is reachable:
#   --build-arg BASE_IMAGE=localhost/debian:bookworm --build-arg RUNTIME_IMAGE=localhost/debian:bookworm
# Run (the model base is a volume; the server picks up versions published there).
# The default CMD serves TLS with bearer tokens and refuses to start without
# the key pair and the token file, mounted where a Kubernetes Secret would be
# (docs/deployment.md#tls-and-tokens makes them):
#   docker run -p 50051:50051 -p 9464:9464 -v "$PWD/models:/models:ro" \
#     -v "$PWD/tls:/etc/recommender/tls:ro" -v "$PWD/auth:/etc/recommender/auth:ro" \
#     easymoney/recommender-server
ARG BASE_IMAGE=debian:bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# Build stage: the project's own scripts, as CI runs them (scripts/common.sh's
# ensure_packages and build_project), without the test targets.
FROM ${BASE_IMAGE} AS build
WORKDIR /src
# Packages in a layer of their own: a source change does not reinstall them.
COPY scripts/common.sh scripts/build scripts/
RUN scripts/build --packages-only
COPY . .
RUN BUILD_DIR=/src/build scripts/build -DBUILD_TESTING=OFF

# Runtime stage: only the shared libraries the binaries link (found with ldd
# and dpkg -S on the built binaries; apt pulls in libgrpc29, libre2-9,
# libc-ares2, libssl3 and libcivetweb1 as their dependencies; libmicrohttpd12
# and libgnutls30 serve the Connect HTTP port).
# TLS needs nothing more: it is done inside libgrpc (with libssl3, already
# there), and the certificate, key and tokens come from mounted Secrets, not
# from the image. No openssl tool (certificates are made outside the image)
# and no ca-certificates (nothing in the image verifies a public CA: the
# HEALTHCHECK and the probes use the loopback health port, in plaintext).
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
      libmicrohttpd12 libgnutls30 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --system --gid 10001 recommender \
 && useradd --system --uid 10001 --gid recommender --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin recommender \
 && mkdir -p /models /var/lib/recommender/events \
 && chown recommender:recommender /models /var/lib/recommender/events
COPY --from=build /src/build/bin/recommender-server /src/build/bin/recommender-cli \
     /src/build/bin/recommender-train /src/build/bin/recommender-datagen /src/build/bin/recommender-retrain \
     /usr/local/bin/
# The model mirror of the Kubernetes sidecar (deploy/k8s).
COPY scripts/sync-models /usr/local/bin/recommender-sync-models

USER 10001:10001
VOLUME /models
# The durable event log (feedback and served answers): keep it on a volume.
VOLUME /var/lib/recommender/events
# gRPC (Recommender, ModelAdmin, grpc.health.v1, reflection; TLS), the
# Connect HTTP port (the Recommender calls as JSON; TLS) and Prometheus
# /metrics (plain HTTP). The health port, 50052, is bound to loopback and not
# exposed.
EXPOSE 50051 8080 9464
# The probe of the loopback health port (--health-address, plaintext,
# grpc.health.v1 only): a HEALTHCHECK cannot present a token or a client
# certificate, and needs no CA this way. Exit 0 only when SERVING, i.e. once
# a model version serves.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["recommender-cli", "health", "--target", "127.0.0.1:50052", "--timeout", "3s"]
ENTRYPOINT ["recommender-server"]
# Production-safe by default: TLS from a kubernetes.io/tls Secret's tls.crt
# and tls.key (re-read when the Secret is rotated; add
# --tls-client-ca-file /etc/recommender/tls/ca.crt for mutual TLS), bearer
# tokens from /etc/recommender/auth/tokens (re-read when it changes). Only
# a development run overrides this with --plaintext --allow-unauthenticated.
CMD ["--model-base", "/models", "--host", "0.0.0.0", "--port", "50051", "--metrics-host", "0.0.0.0", "--metrics-port", "9464", \
     "--event-log-dir", "/var/lib/recommender/events", \
     "--tls-cert-file", "/etc/recommender/tls/tls.crt", "--tls-key-file", "/etc/recommender/tls/tls.key", \
     "--auth-token-file", "/etc/recommender/auth/tokens", "--health-address", "127.0.0.1:50052", \
     "--http-port", "8080"]
