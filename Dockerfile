# syntax=docker/dockerfile:1
# irsa-webhook container image, in three stages:
#   build         Debian bookworm with Debian's own -dev packages: the release preset;
#   runtime-libs  bookworm-slim with only the shared libraries the binary links
#                 (tests/docker/check-runtime-libs.sh checks that list against `ldd` of a real
#                 build); `ldd` then collects exactly those files;
#   final         distroless cc-debian12 (glibc, libstdc++, libgcc, CA certificates; no shell, no
#                 package manager) plus those files and the binary, as the unprivileged user 65532.
# Base images are pinned by digest (the multi-architecture index); scripts/release.sh checks each
# pin covers linux/amd64 and linux/arm64 before building.
#
#   docker build -t irsa-webhook:dev .
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/irsa-webhook:TAG --push .
# buildx sets TARGETPLATFORM/TARGETARCH; each platform's stages run natively or under emulation
# (Debian's packages for that architecture), so there is no cross-compiler to keep in step.

ARG BUILD_IMAGE=debian:bookworm@sha256:b8084b1a576c5504a031936e1132574f4ce1d6cc7130bbcc25a28f074539ae6b
ARG LIBS_IMAGE=debian:bookworm-slim@sha256:4b50eb66f977b4062683ff434ef18ac191da862dbe966961bc11990cf5791a8d
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f

FROM ${BUILD_IMAGE} AS build
ARG TARGETPLATFORM
ARG TARGETARCH
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      nlohmann-json3-dev libyaml-dev libsimdjson-dev libspdlog-dev libfmt-dev libssl-dev libcpp-httplib-dev \
      libboost1.81-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The release preset, without tests and benchmarks (their frameworks are not installed here).
RUN echo "building irsa-webhook for ${TARGETPLATFORM:-the build host} (${TARGETARCH:-native})" \
 && cmake --preset release -DIRSA_BUILD_TESTS=OFF -DIRSA_BUILD_BENCH=OFF \
 && cmake --build --preset release --target irsa-webhook \
 && install -D -m 0755 build/release/src/cli/irsa-webhook /out/irsa-webhook \
 && strip --strip-unneeded /out/irsa-webhook \
 && /out/irsa-webhook version

FROM ${LIBS_IMAGE} AS runtime-libs
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (libc6, libstdc++6, libgcc-s1 and zlib1g are already in bookworm-slim;
# libbrotli1 comes with libcpp-httplib0.11). One per -dev package above (Boost's Asio and Beast are
# header-only: nothing at run time); the check keeps them in step.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcpp-httplib0.11 libfmt9 libsimdjson14 libspdlog1.10 libssl3 libyaml-0-2 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log
COPY --from=build /out/irsa-webhook /usr/local/bin/irsa-webhook
# Every library the binary loads, except glibc, libstdc++ and libgcc (the distroless base has
# them, from the same Debian release), copied with its /usr/lib path into /runtime (ldd may print
# /lib/...; copying through /usr/lib never replaces a base image's /lib symlink).
RUN mkdir /runtime \
 && ldd /usr/local/bin/irsa-webhook | awk '$3 ~ /^\// {print $3}' \
    | grep -Ev '/(libc|libm|libstdc\+\+|libgcc_s|libpthread|libdl|librt)\.so' \
    | sed 's#^/lib/#/usr/lib/#' \
    | xargs -r cp -L --parents -t /runtime \
 && ls -R /runtime

FROM ${RUNTIME_IMAGE}
COPY --from=runtime-libs /runtime/ /
COPY --from=build /out/irsa-webhook /usr/local/bin/irsa-webhook
LABEL org.opencontainers.image.title="irsa-webhook" \
      org.opencontainers.image.description="Mutating admission webhook giving pods AWS IAM Roles for Service Accounts" \
      org.opencontainers.image.source="https://github.com/irsa-webhook/irsa-webhook"
# 8443: HTTPS admission (POST /mutate); 9090: plain HTTP /metrics, /healthz, /readyz.
EXPOSE 8443 9090
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/irsa-webhook"]
# The Helm chart passes its own args; these are the chart's paths for a plain `docker run`.
CMD ["serve", "--config=/etc/irsa-webhook/config/config.yaml", "--tls-cert-file=/etc/irsa-webhook/tls/tls.crt", "--tls-key-file=/etc/irsa-webhook/tls/tls.key"]
