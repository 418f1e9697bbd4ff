# syntax=docker/dockerfile:1
# irsa-webhook container image: built on Debian bookworm with Debian's own -dev packages, run on
# bookworm-slim with only the shared libraries the binary links (tests/docker/check-runtime-libs.sh
# checks that list against `ldd` of a real build), as the unprivileged user 65532.
#
#   docker build -t irsa-webhook:dev .

FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      nlohmann-json3-dev libyaml-dev libsimdjson-dev libspdlog-dev libfmt-dev libssl-dev libcpp-httplib-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The release preset, without tests and benchmarks (their frameworks are not installed here).
RUN cmake --preset release -DIRSA_BUILD_TESTS=OFF -DIRSA_BUILD_BENCH=OFF \
 && cmake --build --preset release --target irsa-webhook \
 && install -D -m 0755 build/release/src/cli/irsa-webhook /out/irsa-webhook \
 && strip --strip-unneeded /out/irsa-webhook \
 && /out/irsa-webhook version

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (libc6, libstdc++6, libgcc-s1 and zlib1g are already in bookworm-slim;
# libbrotli1 comes with libcpp-httplib0.11). One per -dev package above; the check keeps them in step.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcpp-httplib0.11 libfmt9 libsimdjson14 libspdlog1.10 libssl3 libyaml-0-2 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log
COPY --from=build /out/irsa-webhook /usr/local/bin/irsa-webhook
LABEL org.opencontainers.image.title="irsa-webhook" \
      org.opencontainers.image.description="Mutating admission webhook giving pods AWS IAM Roles for Service Accounts"
# 8443: HTTPS admission (POST /mutate); 9090: plain HTTP /metrics, /healthz, /readyz.
EXPOSE 8443 9090
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/irsa-webhook"]
# The Helm chart passes its own args; these are the chart's paths for a plain `docker run`.
CMD ["serve", "--config=/etc/irsa-webhook/config/config.yaml", "--tls-cert-file=/etc/irsa-webhook/tls/tls.crt", "--tls-key-file=/etc/irsa-webhook/tls/tls.key"]
