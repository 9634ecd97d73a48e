# The recommender-server image: Debian 12, the four tools, no compiler.
#
#   podman build --format docker --network host -t easymoney/recommender-server .   # scripts/container does this
#   docker build -t easymoney/recommender-server .
#
# BASE_IMAGE and RUNTIME_IMAGE name the Debian 12 images of the two stages, so
# that a locally imported base works where no registry is reachable:
#   --build-arg BASE_IMAGE=localhost/debian:bookworm --build-arg RUNTIME_IMAGE=localhost/debian:bookworm
# Run (the model base is a volume; the server picks up versions published there):
#   docker run -p 50051:50051 -p 9464:9464 -v "$PWD/models:/models:ro" easymoney/recommender-server
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
# libc-ares2, libssl3 and libcivetweb1 as their dependencies).
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libabsl20220623 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --system --gid 10001 recommender \
 && useradd --system --uid 10001 --gid recommender --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin recommender \
 && mkdir -p /models /var/lib/recommender/events \
 && chown recommender:recommender /models /var/lib/recommender/events
COPY --from=build /src/build/bin/recommender-server /src/build/bin/recommender-cli \
     /src/build/bin/recommender-train /src/build/bin/recommender-datagen /usr/local/bin/
# The model mirror of the Kubernetes sidecar (deploy/k8s).
COPY scripts/sync-models /usr/local/bin/recommender-sync-models

USER 10001:10001
VOLUME /models
# The durable event log (feedback and served answers): keep it on a volume.
VOLUME /var/lib/recommender/events
# gRPC (Recommender, ModelAdmin, grpc.health.v1, reflection) and Prometheus /metrics.
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["recommender-cli", "health", "--target", "127.0.0.1:50051", "--timeout", "3s"]
ENTRYPOINT ["recommender-server"]
CMD ["--model-base", "/models", "--host", "0.0.0.0", "--port", "50051", "--metrics-host", "0.0.0.0", "--metrics-port", "9464", \
     "--event-log-dir", "/var/lib/recommender/events"]
