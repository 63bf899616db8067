# One image holds every binary; compose and Kubernetes pick the command per
# container. Checked by hadolint (.ci/deploy/run); no Docker engine runs in CI.
#
#   docker build -t food-platform:0.1.0 .
#
# Stages: `chef` has cargo-chef; `planner` reduces the workspace to its
# manifests and lock file (recipe.json); `build` compiles the dependencies
# from the recipe and vendor/, so that layer is reused until a manifest,
# Cargo.lock or a vendored crate changes, then compiles the workspace. librdkafka (C, built by
# rdkafka-sys with make) and mimalloc need only the C toolchain, make and
# zlib's headers, all in the rust image; the protos are compiled by protox,
# so no protoc.

FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# The patched crates of [patch.crates-io] are not workspace members, so the
# recipe does not carry them; they change seldom, and with them here the
# dependency layer holds librdkafka's build too.
COPY vendor vendor
# The same packages in both steps, so that features resolve alike and the
# dependencies built here are the ones the final build links.
RUN cargo chef cook --release --locked --recipe-path recipe.json \
      -p food-menu -p food-order -p food-delivery -p food-gateway \
      -p food-stack -p food-broker-server -p foodctl -p food-board
COPY . .
RUN cargo build --release --locked \
      -p food-menu -p food-order -p food-delivery -p food-gateway \
      -p food-stack -p food-broker-server -p foodctl -p food-board \
 && mkdir /out \
 && for bin in menu-service order-service delivery-service gateway \
               food-stack food-broker foodctl food-board; do \
      cp "target/release/$bin" /out/; \
    done

# The binaries link glibc, libgcc_s, libm and zlib (ldd), all in the slim
# base; ca-certificates lets foodctl and food-board reach a gateway over
# HTTPS. A numeric user, so that Kubernetes' runAsNonRoot can check it.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/food --create-home food
COPY --from=build /out/ /usr/local/bin/
# food-stack keeps its data under ./data; the services need no writable
# directory when their databases are PostgreSQL.
WORKDIR /var/lib/food
USER 10001:10001
CMD ["food-stack", "--gateway-addr", "0.0.0.0:8080"]
