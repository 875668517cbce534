# syntax=docker/dockerfile:1
# dns01 container image: `dns01 serve` as a cert-manager DNS-01 webhook.
#
#   docker build -t <registry>/dns01:0.1.0 .
#
# The tag is the project VERSION (CMakeLists.txt), which is the appVersion the
# Helm chart (charts/dns01-webhook) uses as its default image tag.

# --- build: Debian 12 with the build dependencies of scripts/deps.sh -------
FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN apt-get update -q \
 && sh scripts/deps.sh \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build --target dns01 -j"$(nproc)" \
 && install -D -m 0755 -s /build/dns01 /out/usr/local/bin/dns01

# --- runtime: debian:12-slim with only the shared libraries dns01 links ----
FROM debian:12-slim
# The libevent_core, _extra and _openssl libraries CMake asks pkg-config for
# come from libevent-core/-extra/-openssl-2.1-7; pkg-config also adds
# -levent (libevent-2.1-7), kept by links without --as-needed. libssl3
# (libssl + libcrypto); libjansson4; libldns3; libcurl4 (provider HTTP);
# libexpat1 (Route 53 XML); libyaml-0-2 (kubeconfig); ca-certificates (TLS to the Cloudflare and AWS APIs);
# libpq5 and libsqlite3-0 (--embedded-store postgres://... and sqlite:PATH).
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libevent-2.1-7 libevent-core-2.1-7 libevent-extra-2.1-7 libevent-openssl-2.1-7 \
      libssl3 libjansson4 libldns3 libcurl4 libexpat1 libyaml-0-2 ca-certificates \
      libpq5 libsqlite3-0 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/local/bin/dns01 /usr/local/bin/dns01
# Numeric so that Kubernetes' runAsNonRoot can verify it; the chart's
# podSecurityContext uses the same 65532:65532.
USER 65532:65532
# HTTPS (--secure-port default) and the embedded DNS port the chart uses.
EXPOSE 8443/tcp 5353/udp 5353/tcp
ENTRYPOINT ["dns01", "serve"]
